/// A path pattern from a prompt's `files:` key: the paths a task says it will touch, relative to
/// the repository root. The scheduler keeps two tasks apart when their patterns may name the same
/// file, so what matters most here is `mayOverlap`: it must never say "no" when a path matches both.
///
/// Syntax, segment by segment (`/` separates segments):
/// - `*` any run of characters within one segment (a leading `.` included), `?` one character;
/// - `[abc]`, `[a-z]`, `[!x]` (or `[^x]`) one character of (or not of) a class; `]` right after
///   `[` or `[!` is a member, `-` first or last is a member; `[*]`, `[?]`, `[[]` are literal `*`, `?`, `[`;
/// - `**` as a whole segment: any number of segments, none included (`a/**/b` matches `a/b`);
/// - a trailing `/` means the directory and everything under it, the same as `dir/**`.
///
/// Matching is case-sensitive and compares Unicode scalars (not canonical equivalence), as Linux
/// file names do. `\` is refused rather than read as an escape: a Windows-style `src\main.swift`
/// would otherwise silently become `srcmain.swift`.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    /// PATH_MAX: no longer pattern can be meant for a real path, and it bounds the cost of `mayOverlap`.
    public static let maxBytes = 4096

    /// The pattern as written.
    public let pattern: String
    /// `.star` is a `**` segment; `.step` one segment's own pattern.
    let segments: [Token<Segment>]

    /// One segment's pattern: `.star` is `*`, `.step` one character out of a set.
    typealias Segment = [Token<ScalarSet>]

    public var description: String { pattern }

    public init(_ pattern: String) throws(Glob.Error) {
        self.pattern = pattern
        self.segments = try GlobParser(pattern).parse()
    }

    /// True when `path` (relative, `/`-separated; empty segments are ignored) matches the pattern.
    public func matches(_ path: String) -> Bool {
        let literal: [Token<Segment>] = path.split(separator: "/").map { name in
            .step(name.unicodeScalars.map { .step(ScalarSet(single: $0.value)) })
        }
        return Glob.intersect(segments, literal)
    }

    /// True when some path could match both patterns.
    ///
    /// Exact for the model it works in: a path is a sequence of non-empty segments without `/` or
    /// NUL, and patterns — `**` ones included — are intersected as automata (a product of the
    /// segment sequences, and within a pair of segments a product of their character-level
    /// automata), so it says true only when a witness path exists. Approximated, always towards
    /// true: it knows nothing of the file system, so (1) a witness may be a name no real file has,
    /// such as `.` or `..` (`[.]` overlaps `?`), and (2) patterns that differ only in case, such
    /// as `README.md` and `readme.md`, are disjoint here yet name one file on a case-insensitive
    /// file system, and links are not followed: a task that writes through a symlink must list both sides.
    public static func mayOverlap(_ a: Glob, _ b: Glob) -> Bool {
        intersect(a.segments, b.segments)
    }

    /// Segment sequences intersected; a `**` consumes a segment as a lone `*` would. Segments are
    /// numbered first, so each distinct pair is intersected once however often the product meets it.
    static func intersect(_ a: [Token<Segment>], _ b: [Token<Segment>]) -> Bool {
        var numbers: [Segment: Int] = [[.star]: 0]
        var distinct: [Segment] = [[.star]]
        let number = { (token: Token<Segment>) -> Token<Int> in
            guard case .step(let segment) = token else { return .star }
            if let n = numbers[segment] { return .step(n) }
            numbers[segment] = distinct.count
            distinct.append(segment)
            return .step(distinct.count - 1)
        }
        let na = a.map(number), nb = b.map(number)
        var known = [Bool?](repeating: nil, count: distinct.count * distinct.count)
        return Token.intersect(na, nb, anything: 0) { x, y in
            if let answer = known[x * distinct.count + y] { return answer }
            let answer = Token.intersect(distinct[x], distinct[y], anything: ScalarSet.segmentCharacters) { $0.intersects($1) }
            known[x * distinct.count + y] = answer
            return answer
        }
    }
}

extension Glob {
    /// Why a pattern is refused: `pattern` as written, `problem` what is wrong with it and where.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public enum Problem: Equatable, Sendable {
            case empty
            case tooLong(bytes: Int)
            case absolute
            /// Two `/` in a row, at this character (1-based, in Unicode scalars).
            case emptySegment(at: Int)
            /// A `.` or `..` segment.
            case dotSegment(String)
            case controlCharacter(at: Int)
            case backslash(at: Int)
            /// A `[` at this character has no `]` in its segment.
            case unclosedClass(at: Int)
            /// A range such as `z-a` at this character.
            case backwardsRange(String, at: Int)
            /// `**` inside a segment that holds more than it.
            case mixedGlobstar(segment: String)
        }

        public let pattern: String
        public let problem: Problem

        /// What is wrong, as a phrase that follows the pattern: "has a '[' without its ']' at character 5".
        public var reason: String {
            switch problem {
            case .empty:
                return "is empty: name a file, a directory (ending in '/') or a glob, such as src/**/*.swift"
            case .tooLong(let bytes):
                return "is \(bytes) bytes long; the limit is \(Glob.maxBytes)"
            case .absolute:
                return "is an absolute path: write it relative to the repository root, such as src/main.swift"
            case .emptySegment(let at):
                return "has an empty segment ('//') at character \(at): write one '/' between names"
            case .dotSegment(".."):
                return "has a '..' segment: files must stay inside the repository; write the path from its root"
            case .dotSegment(let dot):
                return "has a '\(dot)' segment: write the path without it, from the repository root"
            case .controlCharacter(let at):
                return "has a control character at character \(at)"
            case .backslash(let at):
                return "has a '\\' at character \(at): separate directories with '/', and write a literal *, ? or [ as [*], [?] or [[]"
            case .unclosedClass(let at):
                return "has a '[' without its ']' at character \(at)"
            case .backwardsRange(let range, let at):
                return "has the range '\(range.escapedForTerminal)' at character \(at), which runs backwards"
            case .mixedGlobstar(let segment):
                return "has '**' mixed with other characters in '\(segment.escapedForTerminal)': '**' must be a whole segment, as in a/**/b; within a segment use '*'"
            }
        }

        public var description: String { "'\(pattern.escapedForTerminal)' \(reason)" }
    }
}

/// One step of a pattern read as an automaton: `.star` repeats its step any number of times
/// (none included); `.step` consumes exactly one item that `Step` accepts.
enum Token<Step: Sendable & Hashable>: Sendable, Hashable {
    case star
    case step(Step)

    /// True when some sequence of items is accepted by both token sequences: a product of the two
    /// automata, computed backwards over the table of position pairs (each pair once, so the
    /// table is the memo). Every joint move that consumes an item advances at least one side, so
    /// the pairs form a DAG; both sides staying on a `.star` is a loop that adds nothing.
    /// `anything` is the step a `.star` consumes; `meet` says whether two steps share an item.
    static func intersect(_ a: [Token], _ b: [Token], anything: Step, meet: (Step, Step) -> Bool) -> Bool {
        var accepts = Table(width: b.count + 1, cells: [Bool](repeating: false, count: (a.count + 1) * (b.count + 1)))
        for i in stride(from: a.count, through: 0, by: -1) {
            for j in stride(from: b.count, through: 0, by: -1) {
                let value = acceptsFrom(i, j, a, b, accepts, anything, meet)
                accepts.cells[i * accepts.width + j] = value
            }
        }
        return accepts[0, 0]
    }

    /// Whether the product accepts from each pair of positions.
    private struct Table {
        let width: Int
        var cells: [Bool]
        subscript(i: Int, j: Int) -> Bool { cells[i * width + j] }
    }

    private static func acceptsFrom(_ i: Int, _ j: Int, _ a: [Token], _ b: [Token], _ at: Table,
                                    _ anything: Step, _ meet: (Step, Step) -> Bool) -> Bool {
        if i == a.count && j == b.count { return true }
        // A star may match nothing.
        if i < a.count, a[i] == .star, at[i + 1, j] { return true }
        if j < b.count, b[j] == .star, at[i, j + 1] { return true }
        guard i < a.count, j < b.count else { return false }
        switch (a[i], b[j]) {
        case (.star, .star): return false
        case (.star, .step(let t)): return at[i, j + 1] && meet(anything, t)
        case (.step(let s), .star): return at[i + 1, j] && meet(s, anything)
        case (.step(let s), .step(let t)): return at[i + 1, j + 1] && meet(s, t)
        }
    }
}

/// A set of Unicode scalar values, as sorted, disjoint, non-adjacent closed ranges: what one
/// literal, `?` or class can match. Exact, so negated classes intersect correctly.
struct ScalarSet: Sendable, Hashable {
    let ranges: [ClosedRange<UInt32>]

    /// What a path segment can hold: every scalar but NUL and `/`.
    static let segmentCharacters = ScalarSet([1...0x2E, 0x30...0xD7FF, 0xE000...0x10FFFF])

    init(single value: UInt32) { ranges = [value...value] }

    /// Any ranges, sorted and merged.
    init(_ ranges: [ClosedRange<UInt32>]) {
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        self.ranges = merged
    }

    func intersects(_ other: ScalarSet) -> Bool {
        var i = 0, j = 0
        while i < ranges.count && j < other.ranges.count {
            if ranges[i].overlaps(other.ranges[j]) { return true }
            if ranges[i].upperBound < other.ranges[j].upperBound { i += 1 } else { j += 1 }
        }
        return false
    }

    /// The members of `universe` not in this set.
    func complement(within universe: ScalarSet) -> ScalarSet {
        var out: [ClosedRange<UInt32>] = []
        for u in universe.ranges {
            var low = u.lowerBound
            var exhausted = false
            for r in ranges where r.overlaps(u) && !exhausted {
                if r.lowerBound > low { out.append(low...(r.lowerBound - 1)) }
                if r.upperBound >= u.upperBound { exhausted = true } else { low = max(low, r.upperBound + 1) }
            }
            if !exhausted { out.append(low...u.upperBound) }
        }
        return ScalarSet(out)
    }
}

/// Reads a pattern into segments, refusing what `Glob` documents as invalid.
struct GlobParser {
    let pattern: String
    let scalars: [Unicode.Scalar]

    init(_ pattern: String) {
        self.pattern = pattern
        self.scalars = Array(pattern.unicodeScalars)
    }

    func fail(_ problem: Glob.Error.Problem) -> Glob.Error { Glob.Error(pattern: pattern, problem: problem) }

    func parse() throws(Glob.Error) -> [Token<Glob.Segment>] {
        try checkWhole()
        // A trailing `/`: the directory and everything under it.
        let directory = scalars.last == "/"
        let body = directory ? scalars.dropLast() : scalars[...]
        var segments: [Token<Glob.Segment>] = []
        var start = body.startIndex
        while start <= body.endIndex {
            let end = body[start...].firstIndex(of: "/") ?? body.endIndex
            segments.append(try segment(start..<end))
            start = end + 1
        }
        if directory { segments.append(.star) }
        return segments
    }

    private func checkWhole() throws(Glob.Error) {
        if scalars.isEmpty { throw fail(.empty) }
        if pattern.utf8.count > Glob.maxBytes { throw fail(.tooLong(bytes: pattern.utf8.count)) }
        if scalars.first == "/" { throw fail(.absolute) }
        for (n, s) in scalars.enumerated() {
            if s.value < 0x20 || (0x7F...0x9F).contains(s.value) { throw fail(.controlCharacter(at: n + 1)) }
            if s == "\\" { throw fail(.backslash(at: n + 1)) }
        }
    }

    /// One segment, `scalars[range]`.
    private func segment(_ range: Range<Int>) throws(Glob.Error) -> Token<Glob.Segment> {
        let text = String(String.UnicodeScalarView(scalars[range]))
        if range.isEmpty { throw fail(.emptySegment(at: range.lowerBound + 1)) }
        if text == "." || text == ".." { throw fail(.dotSegment(text)) }
        if text == "**" { return .star }
        var tokens: Glob.Segment = []
        var k = range.lowerBound
        while k < range.upperBound {
            switch scalars[k] {
            case "*":
                if tokens.last == .star { throw fail(.mixedGlobstar(segment: text)) }
                tokens.append(.star)
                k += 1
            case "?":
                tokens.append(.step(ScalarSet.segmentCharacters))
                k += 1
            case "[":
                let (set, next) = try characterClass(at: k, end: range.upperBound)
                tokens.append(.step(set))
                k = next
            default:
                tokens.append(.step(ScalarSet(single: scalars[k].value)))
                k += 1
            }
        }
        return .step(tokens)
    }

    /// The class opening at `open`, and the index after its `]`.
    private func characterClass(at open: Int, end: Int) throws(Glob.Error) -> (ScalarSet, Int) {
        var k = open + 1
        let negated = k < end && (scalars[k] == "!" || scalars[k] == "^")
        if negated { k += 1 }
        var members: [ClosedRange<UInt32>] = []
        var first = true
        while k < end {
            let c = scalars[k]
            if c == "]" && !first {
                // A range may span `/` (`[.-0]`), which no segment holds.
                let set = ScalarSet(members).complement(within: .segmentCharacters)
                return (negated ? set : set.complement(within: .segmentCharacters), k + 1)
            }
            first = false
            if k + 2 < end, scalars[k + 1] == "-", scalars[k + 2] != "]" {
                let high = scalars[k + 2]
                guard c.value <= high.value else {
                    throw fail(.backwardsRange("\(c)-\(high)", at: k + 1))
                }
                members.append(c.value...high.value)
                k += 3
            } else {
                members.append(c.value...c.value)
                k += 1
            }
        }
        throw fail(.unclosedClass(at: open + 1))
    }
}
