/// Text as a terminal shows it: how many columns it takes, and how to make it one line of at
/// most so many columns. `gadugi status` (and a later `gadugi watch`) lays tables out with it,
/// so that one task is always one row, whatever its id, message or terminal.
public enum TerminalText {
    /// `text` on one line: each run of line breaks, tabs and other spacing becomes one space
    /// (an agent's multi-line message reads as a sentence), the ends are trimmed, and any other
    /// control character is escaped as `escapedForTerminal` does (`\e`, `\x07`), so nothing in it
    /// can move the cursor or forge a line.
    public static func oneLine(_ text: String) -> String {
        var out = ""
        var space = false
        for scalar in text.unicodeScalars {
            if isSpacing(scalar) {
                space = !out.isEmpty
                continue
            }
            if space { out += " " }
            space = false
            if String.needsEscape(scalar) { out += String.escape(scalar) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    /// Line breaks and blanks of every kind (`\n`, `\r`, `\t`, VT, FF, NEL, U+2028, U+2029, and
    /// Unicode's other white space).
    static func isSpacing(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || (0x09...0x0D).contains(scalar.value) || scalar.properties.isWhitespace
    }

    /// The columns `text` takes on a terminal: two for wide East Asian characters and emoji,
    /// none for a lone combining mark or format character, one for the rest. (Expects text
    /// without control characters: pass it through `oneLine` first.)
    public static func width(_ text: String) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    static func width(of character: Character) -> Int {
        guard let first = character.unicodeScalars.first else { return 0 }
        if character.unicodeScalars.contains("\u{FE0F}") || first.properties.isEmojiPresentation { return 2 }
        if isWide(first.value) { return 2 }
        switch first.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: return 1
        }
    }

    /// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth W and F, in outline).
    static func isWide(_ v: UInt32) -> Bool {
        (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x20000...0x3FFFD).contains(v)
    }

    /// `text` cut to at most `columns`, ending in `…` when something was cut. A wide character
    /// that would straddle the limit goes whole.
    public static func fitted(_ text: String, to columns: Int) -> String {
        guard columns > 0 else { return "" }
        if width(text) <= columns { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = width(of: character)
            if used + w > columns - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }

    /// `text` followed by spaces up to `columns` (unchanged when it is as wide already).
    public static func padded(_ text: String, to columns: Int) -> String {
        text + String(repeating: " ", count: max(0, columns - width(text)))
    }
}
