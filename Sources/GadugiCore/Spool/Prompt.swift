import Yams

/// A prompt file's content, checked: what makes a file "not a usable prompt" is decided here.
public struct Prompt: Sendable {
    public static let maxBytes = 4 << 20

    /// Caps on the front matter. Its fields end up in `progress.json`, the registry and every
    /// status line, so a hostile file must not be able to make those records huge.
    public enum Limits {
        /// The YAML between the `---` lines.
        public static let frontMatterBytes = 64 << 10
        public static let keys = 64
        public static let keyBytes = 64
        /// A value as its scalar text, or its YAML text for a list or mapping.
        public static let valueBytes = 4096
        /// `name:` is shown in every status line and summary.
        public static let nameBytes = 256
    }

    /// The UTF-8 byte order mark some editors put at the start of a file.
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// `name:` from the front matter, if any.
    public let name: String?
    /// The front matter's keys with their values: scalars as written, lists and mappings as YAML
    /// text (empty when there is none), unknown keys included.
    public let frontMatter: [String: String]
    /// The typed keys the scheduler uses (`id`, `depends_on`, `files`...), checked.
    public let spec: TaskSpec

    /// Why a file cannot be run. Each message is written to the `.reason` file.
    public enum Rejection: Error, Equatable, CustomStringConvertible {
        case empty
        case tooLarge(Int)
        case binary
        case notUTF8
        case badFrontMatter(String)
        /// The YAML between the `---` lines has this many bytes.
        case frontMatterTooLarge(bytes: Int)
        /// The front matter has this many keys.
        case tooManyFrontMatterKeys(Int)
        /// A key itself is too long (`key` is its beginning).
        case frontMatterKeyTooLong(key: String, bytes: Int)
        /// A key's value is too long; `bytes` is nil when YAML aliases expand it beyond what is
        /// worth measuring.
        case frontMatterValueTooLong(key: String, bytes: Int?, limit: Int)
        /// A key gadugi reads has a value of the wrong type or an unsafe one: `found` is the value
        /// as shown (cut, escaped) with what it is, `expected` what would do, with an example.
        case badFrontMatterKey(key: String, found: String, expected: String)

        public var description: String {
            switch self {
            case .empty: return "the file is empty: write the prompt into it and drop it again"
            case .tooLarge(let n): return "the file has \(n) bytes; prompts may have at most \(Prompt.maxBytes)"
            case .binary: return "the file contains NUL bytes: it looks binary, not like a text prompt"
            case .notUTF8: return "the file is not valid UTF-8 text"
            case .badFrontMatter(let why): return "the YAML front matter (between the --- lines) is malformed: \(why)"
            case .frontMatterTooLarge(let n):
                return "the front matter (between the --- lines) is \(n) bytes long; the limit is \(Limits.frontMatterBytes): move the text below the closing --- line"
            case .tooManyFrontMatterKeys(let n):
                return "the front matter has \(n) keys; the limit is \(Limits.keys): drop the ones gadugi does not need"
            case .frontMatterKeyTooLong(let key, let n):
                return "front matter key '\(key)…' is \(n) bytes long; the limit is \(Limits.keyBytes): use a shorter key"
            case .frontMatterValueTooLong(let key, let n?, let limit):
                return "front matter key '\(key)' is \(n) bytes long; the limit is \(limit): shorten its value"
            case .frontMatterValueTooLong(let key, nil, let limit):
                return "front matter key '\(key)' expands (through YAML aliases) to more than \(Limits.frontMatterBytes) bytes; the limit is \(limit): write the value out"
            case .badFrontMatterKey(let key, let found, let expected):
                return "front matter key '\(key)' has \(found); expected \(expected)"
            }
        }
    }

    /// Checks the bytes of a prompt file and reads its front matter. A leading byte order mark is
    /// skipped here only; the file keeps it.
    public static func check(_ bytes: [UInt8]) -> Result<Prompt, Rejection> {
        let text = bytes.starts(with: byteOrderMark) ? bytes.dropFirst(byteOrderMark.count) : bytes[...]
        if text.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return .failure(.empty)
        }
        if bytes.count > maxBytes { return .failure(.tooLarge(bytes.count)) }
        if text.contains(0) { return .failure(.binary) }
        guard let string = String(validating: text, as: UTF8.self) else { return .failure(.notUTF8) }
        return parseFrontMatter(string)
    }

    static func parseFrontMatter(_ text: String) -> Result<Prompt, Rejection> {
        guard text.hasPrefix("---\n") || text.hasPrefix("---\r\n") else {
            return .success(Prompt(name: nil, frontMatter: [:], spec: .empty))
        }
        // "\r\n" is one Character in Swift, so split on newlines, not on "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard let end = lines.dropFirst().firstIndex(where: { $0 == "---" }) else {
            return .failure(.badFrontMatter("no closing --- line"))
        }
        let yaml = lines[1..<end].joined(separator: "\n")
        if yaml.utf8.count > Limits.frontMatterBytes { return .failure(.frontMatterTooLarge(bytes: yaml.utf8.count)) }
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch {
            return .failure(.badFrontMatter(String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"))
        }
        guard let node else { return .success(Prompt(name: nil, frontMatter: [:], spec: .empty)) }
        guard let mapping = node.mapping else { return .failure(.badFrontMatter("it is not a mapping of keys to values")) }
        if mapping.count > Limits.keys { return .failure(.tooManyFrontMatterKeys(mapping.count)) }
        var fields: [String: String] = [:]
        for (key, value) in mapping {
            guard let k = key.string else { continue }
            switch field(k, value) {
            case .success(let text): fields[k] = text
            case .failure(let why): return .failure(why)
            }
        }
        // After the caps: a value is read only once it is known to be small.
        return TaskSpec.parse(mapping).map { Prompt(name: fields["name"], frontMatter: fields, spec: $0) }
    }

    /// One key's text, within the caps.
    static func field(_ key: String, _ value: Node) -> Result<String, Rejection> {
        if key.utf8.count > Limits.keyBytes {
            return .failure(.frontMatterKeyTooLong(key: String(key.prefix(32)), bytes: key.utf8.count))
        }
        let limit = key == "name" ? Limits.nameBytes : Limits.valueBytes
        // Aliases make a value a DAG that serializes exponentially: measure it before expanding it.
        guard Prompt.size(of: value, upTo: Limits.frontMatterBytes) <= Limits.frontMatterBytes else {
            return .failure(.frontMatterValueTooLong(key: key, bytes: nil, limit: limit))
        }
        let text = value.string ?? (try? Yams.serialize(node: value)) ?? ""
        if text.utf8.count > limit { return .failure(.frontMatterValueTooLong(key: key, bytes: text.utf8.count, limit: limit)) }
        return .success(text)
    }

    /// A lower bound on a node's serialized size (its scalars' bytes, at least one per node),
    /// computed only until it passes `bound`: each node is counted when it is pushed, so a YAML
    /// alias bomb costs `bound` steps at most.
    static func size(of node: Node, upTo bound: Int) -> Int {
        var total = 1
        var stack = [node]
        while let next = stack.popLast() {
            switch next {
            case .scalar(let s): total += max(0, s.string.utf8.count - 1)
            case .sequence(let items):
                total += items.count
                if total <= bound { stack.append(contentsOf: items) }
            case .mapping(let pairs):
                total += 2 * pairs.count
                if total <= bound { for (k, v) in pairs { stack.append(k); stack.append(v) } }
            default: break
            }
            if total > bound { return total }
        }
        return total
    }
}
