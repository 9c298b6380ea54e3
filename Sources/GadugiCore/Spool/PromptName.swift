/// Which names in `incoming/` are prompts. Everything else is left exactly where it is, so editors
/// and producers can keep scratch files there.
public enum PromptName {
    public static let extensions: Set<String> = ["md", "markdown", "txt", "prompt"]

    /// True when `name` should be claimed (or rejected); false when it must be left alone:
    /// dotfiles, backups (`x~`), swap files (`.swp`), vim's write probe `4913`, other extensions.
    public static func isCandidate(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name.hasSuffix(".swp") || name == "4913" {
            return false
        }
        guard let ext = self.extension(of: name) else { return false }
        return extensions.contains(ext.lowercased())
    }

    /// The part after the last dot, if there is one and the name is not only an extension.
    public static func `extension`(of name: String) -> String? {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty ? nil : String(ext)
    }

    public static func stem(of name: String) -> String {
        guard let ext = self.extension(of: name) else { return name }
        return String(name.dropLast(ext.count + 1))
    }
}
