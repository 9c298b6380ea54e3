/// The known key a misspelled one most likely meant, so a warning can say "did you mean
/// max_parallel?" instead of leaving the user to find the typo: a silently ignored key is a
/// setting that never took effect.
public enum KeySuggestion {
    /// The closest of `known` to `key`, or nil when none is close enough to be a likely typo.
    /// Close: at most 2 edits (a transposition counts as one; case and `-` for `_` are free) and
    /// no more than half the longer key, or `key` (3 characters or more) begins a known key
    /// (`depends` → `depends_on`). Ties go to the earlier of `known`.
    public static func closest(to key: String, among known: [String]) -> String? {
        let typed = normalized(key)
        var best: (key: String, distance: Int)?
        for candidate in known {
            let other = normalized(candidate)
            // Lengths further apart than 2 need more than 2 edits; skipping them keeps a huge key cheap.
            guard abs(typed.count - other.count) <= 2 else { continue }
            let d = distance(typed, other)
            guard d <= 2, d * 2 <= max(typed.count, candidate.count) else { continue }
            if best == nil || d < best!.distance { best = (candidate, d) }
        }
        if let best { return best.key }
        guard typed.count >= 3 else { return nil }
        return known.filter { normalized($0).starts(with: typed) }.min { $0.count < $1.count }
    }

    /// `Max-Parallel` and `max_parallel` are the same key to a reader.
    static func normalized(_ key: String) -> [Character] {
        Array(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: the
    /// optimal string alignment distance. Keys are short, so the full table is cheap.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, table[i - 2][j - 2] + 1) }
                table[i][j] = d
            }
        }
        return table[a.count][b.count]
    }
}
