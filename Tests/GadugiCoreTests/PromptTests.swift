import XCTest
@testable import GadugiCore
import SystemPackage

final class PromptTests: XCTestCase {
    private func check(_ text: String) -> Result<Prompt, Prompt.Rejection> {
        Prompt.check(Array(text.utf8))
    }

    private func rejection(_ result: Result<Prompt, Prompt.Rejection>, file: StaticString = #filePath, line: UInt = #line) -> Prompt.Rejection? {
        switch result {
        case .success(let p):
            XCTFail("expected a rejection, got a prompt (name \(p.name ?? "nil"))", file: file, line: line)
            return nil
        case .failure(let r): return r
        }
    }

    private func prompt(_ result: Result<Prompt, Prompt.Rejection>, file: StaticString = #filePath, line: UInt = #line) -> Prompt? {
        switch result {
        case .success(let p): return p
        case .failure(let r):
            XCTFail("expected a prompt, got the rejection: \(r)", file: file, line: line)
            return nil
        }
    }

    // MARK: empty, binary, encoding, size

    func testEmptyIsRejected() {
        XCTAssertEqual(rejection(Prompt.check([])), .empty)
    }

    func testWhitespaceOnlyIsEmpty() {
        XCTAssertEqual(rejection(check("  \n\t\r\n   ")), .empty)
        XCTAssertEqual(rejection(check("\n")), .empty)
    }

    func testNulByteIsBinary() {
        XCTAssertEqual(rejection(Prompt.check([0x61, 0x00, 0x62])), .binary)
        XCTAssertEqual(rejection(Prompt.check([0x00])), .binary)
    }

    func testInvalidUTF8IsRejected() {
        XCTAssertEqual(rejection(Prompt.check([0x61, 0xFF, 0xFE, 0x62])), .notUTF8)
        XCTAssertEqual(rejection(Prompt.check([0x61, 0xC3])), .notUTF8, "a truncated two-byte sequence")
        XCTAssertEqual(rejection(Prompt.check([0xED, 0xA0, 0x80])), .notUTF8, "an encoded surrogate")
        XCTAssertEqual(rejection(Prompt.check([0xC0, 0xAF])), .notUTF8, "an overlong encoding")
    }

    func testTooLargeIsRejectedWithItsSize() {
        let bytes = [UInt8](repeating: 0x61, count: Prompt.maxBytes + 1)
        XCTAssertEqual(rejection(Prompt.check(bytes)), .tooLarge(Prompt.maxBytes + 1))
    }

    func testExactlyTheMaximumIsAccepted() {
        let bytes = [UInt8](repeating: 0x61, count: Prompt.maxBytes)
        XCTAssertNotNil(prompt(Prompt.check(bytes)))
    }

    func testPlainTextIsAPromptWithoutName() {
        let p = prompt(check("Fix the login page.\n"))
        XCTAssertNil(p?.name)
        XCTAssertEqual(p?.frontMatter, [:])
    }

    func testUnicodeTextIsAccepted() {
        let p = prompt(check("Überprüfe die Anmeldung 🙂\n"))
        XCTAssertNotNil(p)
        XCTAssertNil(p?.name)
    }

    // MARK: front matter

    func testFrontMatterNameAndFields() {
        let p = prompt(check("---\nname: Fix the login\nowner: ana\npriority: 3\n---\nBody text\n"))
        XCTAssertEqual(p?.name, "Fix the login")
        XCTAssertEqual(p?.frontMatter["owner"], "ana")
        XCTAssertEqual(p?.frontMatter["priority"], "3")
        XCTAssertEqual(p?.frontMatter["name"], "Fix the login")
    }

    func testFrontMatterWithCRLFLineEnds() {
        let p = prompt(check("---\r\nname: Windows prompt\r\n---\r\nBody\r\n"))
        XCTAssertEqual(p?.name, "Windows prompt")
    }

    func testFrontMatterWithoutName() {
        let p = prompt(check("---\nowner: ana\n---\nBody\n"))
        XCTAssertNil(p?.name)
        XCTAssertEqual(p?.frontMatter["owner"], "ana")
    }

    func testEmptyFrontMatterIsFine() {
        let p = prompt(check("---\n---\nBody\n"))
        XCTAssertNil(p?.name)
        XCTAssertEqual(p?.frontMatter, [:])
    }

    func testNonScalarValuesAreKeptAsText() {
        let p = prompt(check("---\nname: x\ntags: [a, b]\n---\nBody\n"))
        XCTAssertEqual(p?.name, "x")
        let tags = p?.frontMatter["tags"] ?? ""
        XCTAssertTrue(tags.contains("a") && tags.contains("b"), "tags: '\(tags)'")
    }

    func testDashesThatAreNotAFrontMatterLineAreJustText() {
        let p = prompt(check("---x\nname: no\n"))
        XCTAssertNil(p?.name)
        let q = prompt(check("Intro\n---\nname: no\n---\n"))
        XCTAssertNil(q?.name, "front matter only counts at the very start")
    }

    func testUnclosedFrontMatter() {
        XCTAssertEqual(rejection(check("---\nname: x\nBody without a closing line\n")), .badFrontMatter("no closing --- line"))
    }

    func testInvalidYAMLInFrontMatter() {
        guard let r = rejection(check("---\nname: [unclosed\n---\nBody\n")) else { return }
        guard case .badFrontMatter(let why) = r else { return XCTFail("expected badFrontMatter, got \(r)") }
        XCTAssertFalse(why.isEmpty)
        XCTAssertFalse(why.contains("\n"), "the reason must be one line: \(why)")
        XCTAssertTrue(r.description.contains("front matter"), r.description)
    }

    func testFrontMatterThatIsNotAMapping() {
        XCTAssertEqual(rejection(check("---\n- a\n- b\n---\nBody\n")), .badFrontMatter("it is not a mapping of keys to values"))
        XCTAssertEqual(rejection(check("---\njust a sentence\n---\nBody\n")), .badFrontMatter("it is not a mapping of keys to values"))
    }

    // MARK: order of the checks and messages

    func testNulIsReportedBeforeEncoding() {
        XCTAssertEqual(rejection(Prompt.check([0x00, 0xFF])), .binary)
    }

    func testRejectionDescriptionsAreSpecificAndOneLine() {
        let all: [Prompt.Rejection] = [.empty, .tooLarge(5_000_000), .binary, .notUTF8, .badFrontMatter("why")]
        for r in all {
            XCTAssertFalse(r.description.contains("\n"), r.description)
        }
        XCTAssertTrue(Prompt.Rejection.tooLarge(5_000_000).description.contains("5000000"))
        XCTAssertTrue(Prompt.Rejection.tooLarge(5_000_000).description.contains("\(Prompt.maxBytes)"))
        XCTAssertTrue(Prompt.Rejection.badFrontMatter("why").description.hasSuffix("why"))
        XCTAssertTrue(Prompt.Rejection.empty.description.contains("empty"))
        XCTAssertTrue(Prompt.Rejection.binary.description.contains("NUL"))
        XCTAssertTrue(Prompt.Rejection.notUTF8.description.contains("UTF-8"))
    }
}
