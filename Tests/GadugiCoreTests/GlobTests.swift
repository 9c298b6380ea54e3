import XCTest
@testable import GadugiCore

final class GlobTests: XCTestCase {
    private func glob(_ pattern: String, file: StaticString = #filePath, line: UInt = #line) -> Glob? {
        do { return try Glob(pattern) } catch {
            XCTFail("'\(pattern)' should parse, got: \(error)", file: file, line: line)
            return nil
        }
    }

    private func problem(_ pattern: String) -> Glob.Error.Problem? {
        do {
            _ = try Glob(pattern)
            return nil
        } catch {
            XCTAssertEqual(error.pattern, pattern)
            return error.problem
        }
    }

    // MARK: overlap

    /// (a, b, whether some path matches both)
    static let overlapTable: [(String, String, Bool)] = [
        ("src/a.swift", "src/a.swift", true),
        ("src/a.swift", "src/b.swift", false),
        ("src/", "src/a.swift", true),
        ("src", "src/a.swift", false),                // a directory is claimed with src/ or src/**
        ("src/**", "src", true),                      // ** may be no segment at all
        ("src/*.swift", "src/a.swift", true),
        ("src/*.swift", "src/a/b.swift", false),      // * stays within a segment
        ("src/**/*.swift", "src/a/b.swift", true),
        ("*.md", "docs/*.md", false),
        ("**/*.md", "docs/*.md", true),
        ("**/*.md", "**/*.swift", false),
        ("**", "anything/at/all", true),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        ("a/**/b", "a/**/c", false),
        ("a/**/b/**", "**/c/**", true),               // a/c/b, a/b/c
        ("**/x/**", "**/y/**", true),                 // x/y
        ("a/**", "b/**", false),
        ("**/a", "b", false),
        ("**/a/**/b", "b", false),
        ("*.swift", "*.md", false),
        ("a*", "*b", true),                           // ab
        ("a*", "b*", false),
        ("a*b*c", "a*c*b", false),                    // one ends in c, the other in b
        ("*a*", "*b*", true),
        ("x*y", "x*z", false),
        ("a?c", "abc", true),
        ("a?c", "ac", false),
        ("?", "ab", false),
        ("*", "a/b", false),
        ("*/*", "a/b", true),
        ("a/*/c", "a/b/*", true),
        ("a/*/c", "*/b/d", false),
        ("[abc].txt", "[cde].txt", true),
        ("[ab].txt", "[cd].txt", false),
        ("[!a].txt", "a.txt", false),
        ("[!a].txt", "[!b].txt", true),
        ("[!ab]", "[a-b]", false),
        ("[a-z]", "[0-9]", false),
        ("[a-z]*", "Z*", false),                      // case-sensitive
        ("[^a]", "a", false),
        ("[*]", "a", false),
        ("[*]", "*", true),
        ("[]]", "]", true),
        ("[]a]", "b", false),
        ("[a-]", "-", true),
        ("dir/", "dir/**", true),
        ("src/**/test_*.py", "src/**/*_test.py", true), // src/test_x_test.py
        ("a/**/**/b", "a/b", true),
        ("ü*", "u*", false),
    ]

    func testOverlapTable() throws {
        XCTAssertGreaterThanOrEqual(Self.overlapTable.count, 30)
        for (a, b, expected) in Self.overlapTable {
            let ga = try Glob(a), gb = try Glob(b)
            XCTAssertEqual(Glob.mayOverlap(ga, gb), expected, "\(a) vs \(b)")
            XCTAssertEqual(Glob.mayOverlap(gb, ga), expected, "\(b) vs \(a) (order must not matter)")
        }
    }

    func testLiteralPatternsOverlapExactlyWhenEqual() throws {
        let literals = ["a", "b", "a/b", "a/b/c", "b/a", "ab", "a.b", "A"]
        for x in literals {
            for y in literals {
                XCTAssertEqual(Glob.mayOverlap(try Glob(x), try Glob(y)), x == y, "\(x) vs \(y)")
            }
        }
    }

    /// Against brute force: small patterns over {a, b}, every path of up to two segments of up to
    /// four letters (enough to hold a witness for such patterns). An overlap is reported exactly
    /// when some path matches both.
    func testOverlapAgreesWithBruteForce() throws {
        let letters = ["a", "b"]
        var names: [String] = [], level = [""]
        for _ in 1...4 {
            level = level.flatMap { n in letters.map { n + $0 } }
            names += level
        }
        let paths = names + names.flatMap { x in names.map { "\(x)/\($0)" } }
        let tokens = ["a", "b", "*", "?"]
        let segments = tokens + tokens.flatMap { x in tokens.map { x + $0 } }   // includes "**"
        let patterns = segments + segments.flatMap { x in segments.map { "\(x)/\($0)" } }
        var rng = SeededGenerator(seed: 7)
        var outcomes: [Bool: Int] = [:]
        for _ in 0..<150 {
            let a = try Glob(patterns[Int(rng.next() % UInt64(patterns.count))])
            let b = try Glob(patterns[Int(rng.next() % UInt64(patterns.count))])
            let witness = paths.first { a.matches($0) && b.matches($0) }
            XCTAssertEqual(Glob.mayOverlap(a, b), witness != nil, "\(a) vs \(b), witness \(witness ?? "none")")
            outcomes[witness != nil, default: 0] += 1
        }
        XCTAssertGreaterThan(outcomes[true] ?? 0, 20, "the sample should hold overlaps")
        XCTAssertGreaterThan(outcomes[false] ?? 0, 20, "and disjoint pairs")
    }

    /// The product is quadratic in segments, never exponential, even for many `**`: two patterns
    /// of a quarter of the byte limit cost about a million table cells (the full limit: 3.4 million,
    /// about 2.5 s in a debug build on a shared core).
    func testLongPatternsStayCheap() throws {
        let deep = try Glob(Array(repeating: "a", count: Glob.maxBytes / 8).joined(separator: "/"))
        let stars = try Glob(Array(repeating: "**/a", count: Glob.maxBytes / 20).joined(separator: "/"))
        let other = try Glob(Array(repeating: "**/b", count: Glob.maxBytes / 20).joined(separator: "/"))
        let start = ContinuousClock.now
        XCTAssertTrue(Glob.mayOverlap(deep, stars))
        XCTAssertFalse(Glob.mayOverlap(deep, other))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(10))
    }

    // MARK: matching

    func testMatching() {
        let cases: [(String, [String], [String])] = [
            ("src/*.swift", ["src/a.swift", "src/.swift", "src/main.swift"], ["src/a/b.swift", "src/a.swiftx", "a.swift"]),
            ("src/", ["src", "src/a", "src/a/b/c"], ["srcx", "lib/src", "sr"]),
            ("src/**", ["src", "src/a/b"], ["lib/src/a"]),
            ("**/*.md", ["README.md", "docs/a/b.md"], ["README.mdx", "docs/md"]),
            ("a/**/b", ["a/b", "a/x/b", "a/x/y/b"], ["a/x", "b", "a/b/c"]),
            ("[a-c]?", ["ax", "cz"], ["dx", "a", "axx"]),
            ("[!a]", ["b", "-"], ["a", "bb"]),
            ("[]]x", ["]x"], ["x", "]]x"]),
            ("README.md", ["README.md"], ["readme.md", "README.md/x"]),
            ("*", ["a", ".hidden"], ["a/b"]),
            ("**", ["", "a", "a/b/c"], []),
        ]
        for (pattern, yes, no) in cases {
            guard let g = glob(pattern) else { continue }
            for path in yes { XCTAssertTrue(g.matches(path), "\(pattern) should match \(path)") }
            for path in no { XCTAssertFalse(g.matches(path), "\(pattern) should not match \(path)") }
        }
    }

    func testMatchingComparesScalarsNotCanonicalEquivalence() {
        // Linux file names are bytes: a precomposed é and e + combining accent are two names.
        XCTAssertFalse(glob("caf\u{E9}.md")?.matches("cafe\u{301}.md") ?? true)
        XCTAssertTrue(glob("caf\u{E9}.md")?.matches("caf\u{E9}.md") ?? false)
        XCTAssertFalse(glob("caf?.md")?.matches("cafe\u{301}.md") ?? true, "? is one scalar")
    }

    func testDescriptionIsThePatternAsWritten() {
        XCTAssertEqual(glob("src/**/*.swift")?.description, "src/**/*.swift")
        XCTAssertEqual(glob("dir/")?.description, "dir/")
    }

    func testATrailingSlashIsTheSameAsDoubleStar() throws {
        let slash = try Glob("dir/"), stars = try Glob("dir/**")
        for path in ["dir", "dir/a", "dir/a/b", "dirx", "x/dir"] {
            XCTAssertEqual(slash.matches(path), stars.matches(path), path)
        }
    }

    // MARK: parse errors

    func testRefusedPatterns() {
        XCTAssertEqual(problem(""), .empty)
        XCTAssertEqual(problem("/etc/passwd"), .absolute)
        XCTAssertEqual(problem("/"), .absolute)
        XCTAssertEqual(problem("../x"), .dotSegment(".."))
        XCTAssertEqual(problem("a/../b"), .dotSegment(".."))
        XCTAssertEqual(problem("a/.."), .dotSegment(".."))
        XCTAssertEqual(problem("./a"), .dotSegment("."))
        XCTAssertEqual(problem("a//b"), .emptySegment(at: 3))
        XCTAssertEqual(problem("a//"), .emptySegment(at: 3))
        XCTAssertEqual(problem("src/[ab"), .unclosedClass(at: 5))
        XCTAssertEqual(problem("[]"), .unclosedClass(at: 1))
        XCTAssertEqual(problem("[!]"), .unclosedClass(at: 1))
        XCTAssertEqual(problem("[a/b]"), .unclosedClass(at: 1), "a class ends with its segment")
        XCTAssertEqual(problem("a**b"), .mixedGlobstar(segment: "a**b"))
        XCTAssertEqual(problem("x/**a"), .mixedGlobstar(segment: "**a"))
        XCTAssertEqual(problem("a/***"), .mixedGlobstar(segment: "***"))
        XCTAssertEqual(problem("a\u{0}b"), .controlCharacter(at: 2))
        XCTAssertEqual(problem("a\nb"), .controlCharacter(at: 2))
        XCTAssertEqual(problem("ab\u{7F}"), .controlCharacter(at: 3))
        XCTAssertEqual(problem("a\u{85}"), .controlCharacter(at: 2))
        XCTAssertEqual(problem("src\\main.swift"), .backslash(at: 4))
        XCTAssertEqual(problem("[z-a]"), .backwardsRange("z-a", at: 2))
        XCTAssertEqual(problem(String(repeating: "a", count: Glob.maxBytes + 1)), .tooLong(bytes: Glob.maxBytes + 1))
    }

    func testAcceptedEdgeCases() {
        for pattern in ["**", "*", "a/**/b", "dir/", "[]]", "[!]]", "[a-]", "[-a]", "ü/*", "a/**/**/b", ".github/",
                        "[*][?][[]", String(repeating: "a", count: Glob.maxBytes)] {
            XCTAssertNotNil(glob(pattern), pattern)
        }
    }

    func testErrorsSayWhatAndWhere() {
        func text(_ pattern: String) -> String {
            do { _ = try Glob(pattern); return "" } catch { return error.description }
        }
        XCTAssertEqual(text("src/[ab"), "'src/[ab' has a '[' without its ']' at character 5")
        XCTAssertTrue(text("/etc/x").hasPrefix("'/etc/x' is an absolute path: write it relative to the repository root"), text("/etc/x"))
        XCTAssertTrue(text("a**b").contains("'**' must be a whole segment"), text("a**b"))
        XCTAssertTrue(text("../x").contains("'..'"), text("../x"))
        XCTAssertEqual(text("a\nb"), "'a\\nb' has a control character at character 2", "the pattern is escaped")
    }
}

/// A small deterministic generator (SplitMix64), so a failure is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
