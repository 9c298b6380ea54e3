import Yams

/// A prompt file's content, checked: what makes a file "not a usable prompt" is decided here.
public struct Prompt: Sendable {
    public static let maxBytes = 4 << 20

    /// `name:` from the front matter, if any.
    public let name: String?
    /// The front matter's keys with their values: scalars as written, lists and mappings as YAML
    /// text (empty when there is none). Later capabilities (dependencies, files) read it.
    public let frontMatter: [String: String]

    /// Why a file cannot be run. Each message is written to the `.reason` file.
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case empty
        case tooLarge(Int)
        case binary
        case notUTF8
        case badFrontMatter(String)

        public var description: String {
            switch self {
            case .empty: return "the file is empty: write the prompt into it and drop it again"
            case .tooLarge(let n): return "the file has \(n) bytes; prompts may have at most \(Prompt.maxBytes)"
            case .binary: return "the file contains NUL bytes: it looks binary, not like a text prompt"
            case .notUTF8: return "the file is not valid UTF-8 text"
            case .badFrontMatter(let why): return "the YAML front matter (between the --- lines) is malformed: \(why)"
            }
        }
    }

    /// Checks the bytes of a prompt file and reads its front matter.
    public static func check(_ bytes: [UInt8]) -> Result<Prompt, Rejection> {
        if bytes.isEmpty || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .failure(.empty)
        }
        if bytes.count > maxBytes { return .failure(.tooLarge(bytes.count)) }
        if bytes.contains(0) { return .failure(.binary) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.notUTF8) }
        return parseFrontMatter(text)
    }

    static func parseFrontMatter(_ text: String) -> Result<Prompt, Rejection> {
        guard text.hasPrefix("---\n") || text.hasPrefix("---\r\n") else {
            return .success(Prompt(name: nil, frontMatter: [:]))
        }
        // "\r\n" is one Character in Swift, so split on newlines, not on "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard let end = lines.dropFirst().firstIndex(where: { $0 == "---" }) else {
            return .failure(.badFrontMatter("no closing --- line"))
        }
        let yaml = lines[1..<end].joined(separator: "\n")
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch {
            return .failure(.badFrontMatter(String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"))
        }
        guard let node else { return .success(Prompt(name: nil, frontMatter: [:])) }
        guard let mapping = node.mapping else { return .failure(.badFrontMatter("it is not a mapping of keys to values")) }
        var fields: [String: String] = [:]
        for (key, value) in mapping {
            guard let k = key.string else { continue }
            fields[k] = value.string ?? (try? Yams.serialize(node: value)) ?? ""
        }
        return .success(Prompt(name: fields["name"], frontMatter: fields))
    }
}
