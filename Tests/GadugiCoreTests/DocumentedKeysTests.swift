import Foundation
import XCTest
@testable import GadugiCore

/// The README's config.yaml block and front matter examples, and spool-layout.md's tables, read
/// by the code they describe: a key added to the code but not the docs (or the other way round),
/// or an example that would be refused, fails here instead of misleading a user.
final class DocumentedKeysTests: SpoolTestCase {
    /// A file at the package root (this file is Tests/GadugiCoreTests/…).
    func document(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(name)
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The fenced block that starts with `start` (after its language line), without its fences.
    func block(in text: String, startingWith start: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let parts = text.components(separatedBy: "```")
        for part in parts.dropFirst() {
            let body = part.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? ""
            if body.hasPrefix(start) { return body }
        }
        XCTFail("no block starting with \(start.debugDescription)", file: file, line: line)
        return nil
    }

    func testTheREADMEConfigBlockLoadsWithoutWarningsAndNamesEveryKey() throws {
        guard let yaml = block(in: try document("README.md"), startingWith: "# .gadugi/config.yaml") else { return }
        try write(layout.config, yaml)
        let settings = try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:])
        XCTAssertEqual(settings.warnings, [])
        let keys = yaml.split(separator: "\n").compactMap { $0.split(separator: ":").first.map(String.init) }.filter { !$0.hasPrefix("#") }
        XCTAssertEqual(Set(keys), Set(Settings.configKeyNames), "the README's block lists exactly the keys config.yaml takes")
    }

    func testSpoolLayoutsConfigTableNamesEveryKey() throws {
        let text = try document("spool-layout.md")
        for key in Settings.configKeyNames {
            XCTAssertTrue(text.contains("| `\(key)` | "), "spool-layout.md's config.yaml table lacks \(key)")
        }
    }

    func testTheFrontMatterExamplesAreAcceptedAndTheTableNamesEveryKey() throws {
        let readme = try document("README.md"), layoutText = try document("spool-layout.md")
        for (name, text, start) in [("README.md", readme, "---\nid: users-api"), ("spool-layout.md", layoutText, "---\nname: Add the users table")] {
            guard let example = block(in: text, startingWith: start) else { continue }
            switch Prompt.check(Array(example.utf8)) {
            case .success(let prompt):
                XCTAssertNotNil(prompt.spec.timeout, "\(name)'s example shows timeout")
                XCTAssertNotNil(prompt.spec.retries, "\(name)'s example shows retries")
            case .failure(let reason):
                XCTFail("\(name)'s front matter example is refused: \(reason)")
            }
        }
        for key in TaskSpec.knownKeys {
            XCTAssertTrue(layoutText.contains("| `\(key)` | "), "spool-layout.md's front matter table lacks \(key)")
        }
    }
}
