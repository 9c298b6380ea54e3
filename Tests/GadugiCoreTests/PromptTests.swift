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

    // MARK: byte order mark

    func testFrontMatterAfterAByteOrderMarkIsRead() {
        let p = prompt(Prompt.check([0xEF, 0xBB, 0xBF] + Array("---\nname: Fix it\n---\nBody\n".utf8)))
        XCTAssertEqual(p?.name, "Fix it")
    }

    func testAByteOrderMarkAloneIsEmpty() {
        XCTAssertEqual(rejection(Prompt.check([0xEF, 0xBB, 0xBF, 0x0A])), .empty)
    }

    func testAByteOrderMarkLaterInTheTextIsJustText() {
        XCTAssertNotNil(prompt(Prompt.check(Array("Body ".utf8) + [0xEF, 0xBB, 0xBF])))
    }

    // MARK: front matter caps

    private func frontMatter(_ yaml: String) -> Result<Prompt, Prompt.Rejection> {
        check("---\n\(yaml)\n---\nBody\n")
    }

    func testANameOfTheLimitIsAcceptedOneByteMoreIsNot() {
        let limit = Prompt.Limits.nameBytes
        XCTAssertEqual(prompt(frontMatter("name: " + String(repeating: "n", count: limit)))?.name?.utf8.count, limit)
        XCTAssertEqual(rejection(frontMatter("name: " + String(repeating: "n", count: limit + 1))),
                       .frontMatterValueTooLong(key: "name", bytes: limit + 1, limit: limit))
    }

    func testAHugeNameIsRejectedWithKeyLengthAndLimit() {
        let r = rejection(frontMatter("name: " + String(repeating: "n", count: 60_000)))
        XCTAssertEqual(r?.description, "front matter key 'name' is 60000 bytes long; the limit is 256: shorten its value")
    }

    func testValuesAreCappedAsScalarTextOrAsYAML() {
        let limit = Prompt.Limits.valueBytes
        XCTAssertNotNil(prompt(frontMatter("notes: " + String(repeating: "v", count: limit))))
        XCTAssertEqual(rejection(frontMatter("notes: " + String(repeating: "v", count: limit + 1))),
                       .frontMatterValueTooLong(key: "notes", bytes: limit + 1, limit: limit))
        let list = "files: [" + Array(repeating: "abcdefghi", count: 600).joined(separator: ", ") + "]"
        guard case .frontMatterValueTooLong(let key, let bytes?, limit)? = rejection(frontMatter(list)) else {
            return XCTFail("a long list is a long value")
        }
        XCTAssertEqual(key, "files")
        XCTAssertGreaterThan(bytes, limit)
    }

    func testKeysAreCappedInLengthAndNumber() {
        let long = String(repeating: "k", count: Prompt.Limits.keyBytes + 1)
        XCTAssertNotNil(prompt(frontMatter(String(repeating: "k", count: Prompt.Limits.keyBytes) + ": v")))
        XCTAssertEqual(rejection(frontMatter(long + ": v")),
                       .frontMatterKeyTooLong(key: String(long.prefix(32)), bytes: Prompt.Limits.keyBytes + 1))
        let keys = { (n: Int) in (1...n).map { "k\($0): v" }.joined(separator: "\n") }
        XCTAssertEqual(prompt(frontMatter(keys(Prompt.Limits.keys)))?.frontMatter.count, Prompt.Limits.keys)
        XCTAssertEqual(rejection(frontMatter(keys(Prompt.Limits.keys + 1))), .tooManyFrontMatterKeys(Prompt.Limits.keys + 1))
    }

    func testTheWholeBlockIsCapped() {
        let line = "# " + String(repeating: "c", count: 1000)
        let yaml = Array(repeating: line, count: 70).joined(separator: "\n")
        XCTAssertEqual(rejection(frontMatter(yaml)), .frontMatterTooLarge(bytes: yaml.utf8.count))
    }

    func testAnAliasBombIsRejectedWithoutExpandingIt() {
        // Each level repeats the one before ten times: fully serialized, 10^9 entries.
        var levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for (level, prior) in zip(["b", "c", "d", "e", "f", "g", "h", "i"], ["a", "b", "c", "d", "e", "f", "g", "h"]) {
            levels.append("\(level): &\(level) [" + Array(repeating: "*\(prior)", count: 10).joined(separator: ", ") + "]")
        }
        let yaml = "bomb:\n" + levels.map { "  " + $0 }.joined(separator: "\n")
        XCTAssertEqual(rejection(frontMatter(yaml)),
                       .frontMatterValueTooLong(key: "bomb", bytes: nil, limit: Prompt.Limits.valueBytes))
    }

    func testCapMessagesNameKeyLengthAndLimit() {
        let all: [Prompt.Rejection] = [.frontMatterTooLarge(bytes: 70_000), .tooManyFrontMatterKeys(65),
                                       .frontMatterKeyTooLong(key: "kkk", bytes: 65),
                                       .frontMatterValueTooLong(key: "notes", bytes: 5000, limit: 4096),
                                       .frontMatterValueTooLong(key: "notes", bytes: nil, limit: 4096)]
        for r in all { XCTAssertFalse(r.description.contains("\n"), r.description) }
        XCTAssertTrue(all[0].description.contains("70000") && all[0].description.contains("65536"), all[0].description)
        XCTAssertTrue(all[1].description.contains("65 keys") && all[1].description.contains("64"), all[1].description)
        XCTAssertTrue(all[2].description.contains("'kkk…' is 65 bytes long; the limit is 64"), all[2].description)
        XCTAssertTrue(all[3].description.contains("'notes' is 5000 bytes long; the limit is 4096"), all[3].description)
        XCTAssertTrue(all[4].description.contains("'notes'") && all[4].description.contains("4096"), all[4].description)
    }
}
