import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class JSONTests: XCTestCase {
    private func parse(_ text: String) -> JSON? { JSON.parse(Array(text.utf8)) }

    // MARK: encoding

    func testEncodesScalars() {
        XCTAssertEqual(JSON.null.encoded(), "null")
        XCTAssertEqual(JSON.bool(true).encoded(), "true")
        XCTAssertEqual(JSON.bool(false).encoded(), "false")
        XCTAssertEqual(JSON.int(42).encoded(), "42")
        XCTAssertEqual(JSON.int(-7).encoded(), "-7")
        XCTAssertEqual(JSON.int(Int64.min).encoded(), "-9223372036854775808")
        XCTAssertEqual(JSON.double(1.5).encoded(), "1.5")
        XCTAssertEqual(JSON.string("plain").encoded(), "\"plain\"")
    }

    func testNonFiniteDoublesBecomeNull() {
        XCTAssertEqual(JSON.double(.nan).encoded(), "null")
        XCTAssertEqual(JSON.double(.infinity).encoded(), "null")
        XCTAssertEqual(JSON.double(-.infinity).encoded(), "null")
    }

    func testEscapesQuotesBackslashAndNamedControls() {
        XCTAssertEqual(JSON.string("a\"b\\c\nd\re\tf").encoded(), #""a\"b\\c\nd\re\tf""#)
    }

    func testEscapesOtherControlCharactersAsUnicode() {
        XCTAssertEqual(JSON.string("\u{00}\u{01}\u{08}\u{0C}\u{1F}").encoded(), #""\u0000\u0001\u0008\u000c\u001f""#)
    }

    func testLeavesUnicodeAndSlashAndDelAsIs() {
        XCTAssertEqual(JSON.string("é 日本 🙂 / \u{7F}").encoded(), "\"é 日本 🙂 / \u{7F}\"")
    }

    func testEscapesCRLFAsTwoEscapes() {
        // "\r\n" is one Character in Swift; both bytes must still be escaped.
        XCTAssertEqual(JSON.string("a\r\nb").encoded(), #""a\r\nb""#)
    }

    func testBytesAreTheUTF8OfTheEncoding() {
        let value = JSON.object([("k", .string("é 🙂 \u{01}")), ("n", .array([.int(1), .double(2.5)]))])
        XCTAssertEqual(value.bytes(), Array(value.encoded().utf8))
        XCTAssertEqual(value.bytes(pretty: true), Array(value.encoded(pretty: true).utf8))
    }

    func testNumberPicksIntegerOrDouble() {
        XCTAssertEqual(JSON.number(40), .int(40))
        XCTAssertEqual(JSON.number(-3), .int(-3))
        XCTAssertEqual(JSON.number(62.5), .double(62.5))
        XCTAssertEqual(JSON.number(1e19), .double(1e19), "too big for an exact integer")
        XCTAssertEqual(JSON.number(.nan), .null)
        XCTAssertEqual(JSON.number(.infinity), .null)
        XCTAssertEqual(JSON.number(-.infinity), .null)
    }

    func testEscapesKeys() {
        XCTAssertEqual(JSON.object([("a\"b", .int(1))]).encoded(), #"{"a\"b":1}"#)
    }

    func testCompactEncoding() {
        let value = JSON.object([("b", .int(1)), ("a", .array([.bool(true), .null, .string("x")])), ("c", .object([]))])
        XCTAssertEqual(value.encoded(), #"{"b":1,"a":[true,null,"x"],"c":{}}"#, "compact, and keys keep their order")
    }

    func testPrettyEncoding() {
        let value = JSON.object([("b", .int(1)), ("a", .array([.bool(true), .object([("k", .null)])])), ("e", .array([]))])
        let expected = """
        {
          "b": 1,
          "a": [
            true,
            {
              "k": null
            }
          ],
          "e": []
        }
        """
        XCTAssertEqual(value.encoded(pretty: true), expected)
    }

    func testPrettyEmptyContainers() {
        XCTAssertEqual(JSON.object([]).encoded(pretty: true), "{}")
        XCTAssertEqual(JSON.array([]).encoded(pretty: true), "[]")
    }

    // MARK: parsing

    func testParsesScalars() {
        XCTAssertEqual(parse("null"), .null)
        XCTAssertEqual(parse("true"), .bool(true))
        XCTAssertEqual(parse("false"), .bool(false))
        XCTAssertEqual(parse("\"s\""), .string("s"))
    }

    func testNumbersIntVersusDouble() {
        XCTAssertEqual(parse("42"), .int(42))
        XCTAssertEqual(parse("-7"), .int(-7))
        XCTAssertEqual(parse("0"), .int(0))
        XCTAssertEqual(parse("1.5"), .double(1.5))
        XCTAssertEqual(parse("-0.25"), .double(-0.25))
        XCTAssertEqual(parse("1e3"), .double(1000))
        XCTAssertEqual(parse("2.0"), .double(2.0))
        XCTAssertEqual(parse("9223372036854775807"), .int(Int64.max))
        XCTAssertEqual(parse("9223372036854775808"), .double(9223372036854775808.0), "too big for Int64: a double")
    }

    func testNumberAccessors() {
        XCTAssertEqual(JSON.double(3.0).int, 3)
        XCTAssertNil(JSON.double(3.5).int)
        XCTAssertNil(JSON.double(1e19).int)
        XCTAssertEqual(JSON.int(2).double, 2.0)
        XCTAssertEqual(JSON.double(2.5).double, 2.5)
        XCTAssertNil(JSON.string("3").int)
        XCTAssertNil(JSON.null.double)
    }

    func testOtherAccessors() {
        let value = parse(#"{"s":"x","a":[1,2],"n":null}"#)
        XCTAssertEqual(value?["s"]?.string, "x")
        XCTAssertEqual(value?["a"]?.array, [.int(1), .int(2)])
        XCTAssertEqual(value?["n"], .null)
        XCTAssertNil(value?["missing"])
        XCTAssertNil(JSON.array([])["s"], "subscript of a non-object")
        XCTAssertNil(JSON.int(1).string)
    }

    func testParsesStringEscapes() {
        XCTAssertEqual(parse(#""a\"b\\c\/d\ne\tf\rg\bh\fi""#), .string("a\"b\\c/d\ne\tf\rg\u{08}h\u{0C}i"))
        XCTAssertEqual(parse(#""\u00e9\u65E5""#), .string("é日"))
        XCTAssertEqual(parse("\"é 🙂\""), .string("é 🙂"), "raw UTF-8 passes through")
    }

    func testSurrogatePairs() {
        XCTAssertEqual(parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(parse(#""x\uD83D\uDE00y""#), .string("x😀y"))
    }

    func testLoneHighSurrogateBecomesReplacementCharacter() {
        XCTAssertEqual(parse(#""\ud83d""#), .string("\u{FFFD}"))
        XCTAssertEqual(parse(#""\ud83dx""#), .string("\u{FFFD}x"))
    }

    func testLoneLowSurrogateBecomesReplacementCharacter() {
        XCTAssertEqual(parse(#""\ude00""#), .string("\u{FFFD}"))
    }

    /// A high surrogate followed by an escape that is not a low surrogate: agents write
    /// `report.json`, and the coordinator parses it, so no input may crash the parser. Run in a
    /// child process so that a trap fails this test instead of the whole run.
    func testHighSurrogateFollowedByANonSurrogateEscapeDoesNotCrash() {
        for text in [#""\ud83d\u0041""#, #""\ud83d\ud83d""#, #""\udbff\u0000""#] {
            let status = runInChildProcess {
                _ = JSON.parse(Array(text.utf8))
                return 0
            }
            XCTAssertEqual(describeWaitStatus(status), "exit 0", "JSON.parse(\(text)) must return, not crash")
        }
    }

    /// Per RFC 8259 the lone high surrogate is replaced and the next character is kept.
    func testHighSurrogateFollowedByANonSurrogateEscapeKeepsTheSecondCharacter() {
        let status = runInChildProcess {
            JSON.parse(Array(#""\ud83d\u0041""#.utf8)) == .string("\u{FFFD}A") ? 0 : 1
        }
        XCTAssertEqual(describeWaitStatus(status), "exit 0", #"JSON.parse("\ud83d\u0041") must be "\u{FFFD}A""#)
    }

    func testInvalidUTF8InsideAStringDoesNotCrash() {
        let value = JSON.parse([0x22, 0x61, 0xFF, 0x62, 0x22])
        XCTAssertEqual(value, .string("a\u{FFFD}b"))
    }

    func testWhitespaceAroundValues() {
        XCTAssertEqual(parse(" \n\t{ \"a\" : [ 1 , 2 ] } \r\n"), .object([("a", .array([.int(1), .int(2)]))]))
    }

    func testRoundTripOfNestedValues() {
        let value = JSON.object([
            ("schema_version", .int(1)),
            ("name", .string("quote \" back \\ nl \n tab \t ctl \u{01} é 🙂")),
            ("list", .array([.int(-3), .double(0.1), .double(1e300), .double(-2.5e-8), .bool(false), .null, .array([]), .object([])])),
            ("nested", .object([("deeper", .object([("deepest", .array([.object([("k", .string(""))])]))]))])),
            ("big", .int(Int64.max)),
            ("small", .int(Int64.min)),
        ])
        XCTAssertEqual(JSON.parse(Array(value.encoded().utf8)), value, value.encoded())
        XCTAssertEqual(JSON.parse(Array(value.encoded(pretty: true).utf8)), value, value.encoded(pretty: true))
    }

    func testRoundTripOfEveryControlCharacter() {
        let all = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init(_:))))
        let value = JSON.string(all + "\u{7F}")
        XCTAssertEqual(JSON.parse(Array(value.encoded().utf8)), value)
    }

    func testObjectsCompareWithKeyOrder() {
        XCTAssertNotEqual(JSON.object([("a", .int(1)), ("b", .int(2))]), JSON.object([("b", .int(2)), ("a", .int(1))]))
        XCTAssertEqual(parse(#"{"a":1,"b":2}"#), JSON.object([("a", .int(1)), ("b", .int(2))]))
        XCTAssertNotEqual(JSON.int(1), JSON.double(1))
    }

    func testRejectsGarbage() {
        let bad = ["", " ", "{", "}", "[", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}", "nul", "tru",
                   "falsey", "\"unterminated", "\"bad escape at end\\", "1.2.3", "-", "abc", "'single'", "[1]]",
                   "{\"a\":1}}", "\"\\u12\"", "\"\\uXYZW\""]
        for text in bad {
            XCTAssertNil(parse(text), "'\(text)' is not JSON")
        }
    }

    func testRejectsTrailingText() {
        XCTAssertNil(parse("1 2"))
        XCTAssertNil(parse("{} x"))
        XCTAssertNil(parse("null null"))
        XCTAssertNil(parse("{\"a\":1}\n{\"a\":2}"), "two JSON lines are not one value")
        XCTAssertEqual(parse("{}\n"), .object([]), "a trailing newline is whitespace")
    }

    func testDeepNestingIsRefusedNotOverflowed() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertNil(parse(deep))
        let fine = String(repeating: "[", count: 20) + "1" + String(repeating: "]", count: 20)
        XCTAssertNotNil(parse(fine))
    }

    func testOptionalHelpers() {
        XCTAssertEqual(JSON.optional(nil as String?), .null)
        XCTAssertEqual(JSON.optional("x" as String?), .string("x"))
        XCTAssertEqual(JSON.optional(nil as Int64?), .null)
        XCTAssertEqual(JSON.optional(5 as Int64?), .int(5))
        XCTAssertEqual(JSON.optional(Timestamp(seconds: 0, nanoseconds: 0) as Timestamp?), .string("1970-01-01T00:00:00.000Z"))
    }
}
