extension String {
    /// The text made safe to print on one line of a terminal or a log: every C0 control
    /// (U+0000–U+001F), DEL (U+007F) and C1 control (U+0080–U+009F) becomes a visible escape —
    /// `\n`, `\r`, `\t`, `\e` for ESC, `\xHH` for the other C0 controls and DEL, `\u{HHHH}` for
    /// C1 — so a file name, prompt message or agent report can neither span two lines nor move
    /// the cursor, recolour the screen or retitle the window.
    ///
    /// A backslash becomes `\\`: otherwise a file honestly named `a\nb.md` would print the same
    /// as one with a newline in its name, and a log line could forge what looks like an escape.
    /// With it, every escaped text reads back to exactly one original.
    public var escapedForTerminal: String {
        guard unicodeScalars.contains(where: String.needsEscape) else { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            guard String.needsEscape(scalar) else { out.unicodeScalars.append(scalar); continue }
            out += String.escape(scalar)
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\\"
    }

    static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{1B}": return "\\e"
        case "\\": return "\\\\"
        default:
            let hex = String(scalar.value, radix: 16)
            let padded = String(repeating: "0", count: Swift.max(0, (scalar.value < 0x80 ? 2 : 4) - hex.count)) + hex
            return scalar.value < 0x80 ? "\\x\(padded)" : "\\u{\(padded)}"
        }
    }
}
