import XCTest
@testable import GadugiCore
import SystemPackage

final class PromptNameTests: XCTestCase {
    func testPromptExtensionsAreCandidates() {
        for name in ["fix.md", "fix.markdown", "fix.txt", "fix.prompt", "fix login.md", "a.b.md", "4913.md"] {
            XCTAssertTrue(PromptName.isCandidate(name), name)
        }
    }

    func testExtensionsAreCaseInsensitive() {
        for name in ["fix.MD", "fix.Md", "fix.MARKDOWN", "fix.Txt", "fix.PROMPT"] {
            XCTAssertTrue(PromptName.isCandidate(name), name)
        }
    }

    func testDotfilesAreLeftAlone() {
        for name in [".fix.md", ".hidden", ".fix.md.tmp.123", ".#fix.md", ".md"] {
            XCTAssertFalse(PromptName.isCandidate(name), name)
        }
    }

    func testEditorScratchFilesAreLeftAlone() {
        XCTAssertFalse(PromptName.isCandidate("fix.md~"), "backup")
        XCTAssertFalse(PromptName.isCandidate("fix~"), "backup")
        XCTAssertFalse(PromptName.isCandidate("fix.md.swp"), "vim swap")
        XCTAssertFalse(PromptName.isCandidate(".fix.md.swp"), "vim swap")
        XCTAssertFalse(PromptName.isCandidate("fix.swp"), "vim swap")
        XCTAssertFalse(PromptName.isCandidate("4913"), "vim's write probe")
    }

    func testOtherExtensionsAndNoExtensionAreLeftAlone() {
        for name in ["fix", "fix.json", "fix.mdx", "fix.md.bak", "fix.", "fix.txt.gz", "md", "prompt", "fix.tmp"] {
            XCTAssertFalse(PromptName.isCandidate(name), name)
        }
    }

    func testExtension() {
        XCTAssertEqual(PromptName.extension(of: "fix.md"), "md")
        XCTAssertEqual(PromptName.extension(of: "a.b.TXT"), "TXT", "the last dot wins and the case is kept")
        XCTAssertNil(PromptName.extension(of: "fix"))
        XCTAssertNil(PromptName.extension(of: ".md"), "a name that is only an extension has none")
        XCTAssertNil(PromptName.extension(of: "fix."), "an empty extension is none")
        XCTAssertEqual(PromptName.extension(of: "..md"), "md")
    }

    func testStem() {
        XCTAssertEqual(PromptName.stem(of: "fix.md"), "fix")
        XCTAssertEqual(PromptName.stem(of: "a.b.md"), "a.b")
        XCTAssertEqual(PromptName.stem(of: "fix"), "fix")
        XCTAssertEqual(PromptName.stem(of: ".md"), ".md")
        XCTAssertEqual(PromptName.stem(of: "fix."), "fix.")
        XCTAssertEqual(PromptName.stem(of: "日本.md"), "日本")
    }

    func testExtensionSetIsExactlyTheDocumentedOne() {
        XCTAssertEqual(PromptName.extensions, ["md", "markdown", "txt", "prompt"])
    }
}
