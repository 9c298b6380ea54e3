/// Task ids: made from a prompt's file name, safe as a path component and inside a git branch name.
public enum TaskID {
    public static let maxLength = 64

    /// The id a file name asks for, before uniqueness: runs of anything but ASCII letters, digits,
    /// `_` and `-` become one `-`; leading and trailing `-` go; empty becomes `task`.
    public static func base(forFileName name: String) -> String {
        let stem = PromptName.stem(of: name)
        var out: [UInt8] = []
        for byte in stem.utf8 {
            if isIDByte(byte) {
                out.append(byte)
            } else if out.last != UInt8(ascii: "-") {
                out.append(UInt8(ascii: "-"))
            }
        }
        var id = String(decoding: out, as: UTF8.self)
        while id.hasPrefix("-") { id.removeFirst() }
        if id.count > maxLength { id = String(id.prefix(maxLength)) }
        while id.hasSuffix("-") { id.removeLast() }
        return id.isEmpty ? "task" : id
    }

    /// The n-th candidate for a base: `fix-login`, `fix-login-2`, `fix-login-3`, ...
    public static func candidate(_ base: String, _ n: Int) -> String {
        n <= 1 ? base : "\(base)-\(n)"
    }

    /// True for strings the spool could have made (a base, maybe with a `-N` suffix): what the CLI
    /// accepts as `--task`.
    public static func isValid(_ id: String) -> Bool {
        guard id.utf8.allSatisfy(isIDByte), !id.isEmpty, !id.hasPrefix("-"), !id.hasSuffix("-") else { return false }
        if id.utf8.count <= maxLength { return true }
        // Longer only as `<base of at most 64>-<n>`.
        guard let dash = id.lastIndex(of: "-") else { return false }
        let number = id[id.index(after: dash)...]
        return id[..<dash].utf8.count <= maxLength && number.count <= 10 && number.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// ASCII letters, digits, `_` and `-`: safe in a path component and in a git branch name.
    static func isIDByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }
}
