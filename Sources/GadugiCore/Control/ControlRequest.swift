/// A request to the coordinator, as a file in `.gadugi/control/`, so that anyone can ask (a verb,
/// a script with `touch`, an editor) and a running coordinator picks it up through inotify:
///
/// - `cancel.<id>`: cancel the task (one-shot: carried out, then removed);
/// - `retry.<id>`: run the failed, timed-out, cancelled or blocked task again under the same id
///   (one-shot; the content `reset` starts its attempt count again);
/// - `hold`: while this file exists no new task starts (running ones go on).
///
/// With no coordinator running, the verbs carry requests out themselves under the coordinator's
/// lock, so the two never race.
public struct ControlRequest: Sendable, Equatable {
    public enum Verb: String, Sendable, CaseIterable {
        case cancel, retry
    }

    public var verb: Verb
    public var id: String
    /// `retry` only: start the attempt count again.
    public var reset: Bool

    public init(_ verb: Verb, id: String, reset: Bool = false) {
        self.verb = verb
        self.id = id
        self.reset = reset
    }

    /// The file that holds the whole queue.
    public static let holdFile = "hold"

    /// The file that holds one task: `hold.<id>`.
    public static func holdFile(_ id: String) -> String { holdFile + "." + id }

    /// The task a `hold.<id>` file holds; nil for any other name.
    public static func heldTask(fileName: String) -> String? {
        guard fileName.hasPrefix(holdFile + ".") else { return nil }
        let id = String(fileName.dropFirst(holdFile.count + 1))
        return TaskID.isValid(id) ? id : nil
    }

    public var fileName: String { verb.rawValue + "." + id }

    /// The request a file in `control/` names; nil for anything else (dotfiles, `hold`, typos).
    public init?(fileName: String, content: String = "") {
        let parts = fileName.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let verb = Verb(rawValue: String(parts[0])), TaskID.isValid(String(parts[1])) else { return nil }
        self.init(verb, id: String(parts[1]), reset: content.trimmingCharacters(in: .whitespacesAndNewlines) == "reset")
    }

    /// Writes the request (atomically: a reader never sees half of it).
    public func write(_ layout: Layout) throws(SystemError) {
        try Files.makeDirectories(layout.control)
        try Files.writeAtomically(layout.control(fileName), Array((reset ? "reset\n" : "").utf8))
    }

    /// Whether the queue is held.
    public static func isHeld(_ layout: Layout) -> Bool { Files.exists(layout.control(holdFile)) }
}
