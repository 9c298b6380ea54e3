import Foundation
import Glibc
import Logging

/// The coordinator's log: one line per message on stderr,
/// `2026-11-27T08:01:02.345Z info started fix-login (pid 4242) key=value error="why it failed"`:
/// the time (UTC, milliseconds), the level (`trace`, `debug`, `info`, `notice`, `warning`,
/// `error`, `critical`), the message, then metadata as `key=value` sorted by key, and an error
/// last as `error=...`. No logger label or module name is written: there is one program.
///
/// Messages carry file names, prompt front matter and agents' reports, so every part is escaped
/// (`escapedForTerminal`): a message, a metadata value or an error can never span two lines,
/// forge a line of its own or send terminal escapes. A value that is empty or holds a space, `"`
/// or `=` is quoted (`"..."`, with `\"` inside), so `key=value` pairs split unambiguously. Each
/// line goes out in one `write`, so lines of concurrent writers do not mix.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    /// Where the lines go; stderr but for tests.
    let descriptor: CInt

    public init(label: String) {
        self.init(descriptor: STDERR_FILENO)
    }

    init(descriptor: CInt) {
        self.descriptor = descriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let line = LineLogHandler.line(at: .now(), level: event.level, message: event.message.description, metadata: all,
                                       error: event.error.map { String(describing: $0) })
        // A log line that cannot be written (stderr closed, disk full) is dropped: logging must not stop the work.
        try? Files.writeAll(descriptor, Array(line.utf8), path: "standard error")
    }

    /// One formatted line, ending in "\n"; metadata sorted by key, the error last.
    static func line(at time: Timestamp, level: Logger.Level, message: String, metadata: Logger.Metadata,
                     error: String? = nil) -> String {
        var line = "\(time.iso8601) \(level.rawValue) \(message.escapedForTerminal)"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(key.escapedForTerminal)=\(quoted(value.description))"
        }
        if let error { line += " error=\(quoted(error))" }
        return line + "\n"
    }

    /// A metadata value or an error as it is written: escaped, and quoted when it would not
    /// read as one value.
    static func quoted(_ text: String) -> String {
        let escaped = text.escapedForTerminal
        guard escaped.isEmpty || escaped.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return escaped }
        return "\"" + escaped.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
