/// One line of `events.jsonl`: a task's change of state, or the rejection of a prompt that never
/// became a task. The format (docs/schemas/event.schema.json) is defined here and nowhere else:
/// the coordinator writes these lines, and verbs that look a prompt up read them back.
///
/// Encoded by hand through `JSON`, like the other spool files: Foundation's `JSONEncoder` took
/// about five times as long per object (BENCHMARKS.md, "JSON encoding"), and these are written on
/// every state change.
public struct Event: Sendable, Equatable {
    public var at: Timestamp
    /// The task's id; nil on a rejection, which names the prompt (`name`) instead.
    public var id: String?
    /// A rejection: the prompt's file name in `incoming/`.
    public var name: String?
    /// A `TaskState`'s raw value, or `rejected`.
    public var state: String
    /// `running`: the task's process.
    public var pid: Int32?
    /// A final state: how the agent ended (`exit_code` and `signal` are both written, maybe null).
    public var isFinal = false
    public var exitCode: Int?
    public var signal: Int?
    /// `claimed`: the prompt's name in `incoming/`.
    public var from: String?
    /// `waiting`: what for.
    public var waitingFor: [String]?
    /// A rejection: where the prompt went, relative to the root.
    public var rejected: String?
    /// `blocked`, and a rejection: why.
    public var reason: String?
    /// A running task became stalled (true) or active again (false), after `idleSeconds` quiet.
    public var stalled: Bool?
    public var idleSeconds: Int?
    /// Claimed again by `gadugi retry`.
    public var retry = false
    /// Waiting for an automatic retry until then.
    public var notBefore: Timestamp?

    /// The line for a task entering `record.state`.
    public init(_ record: TaskRecord, at: Timestamp = .now()) {
        self.at = at
        id = record.id
        state = record.state.rawValue
        if record.state == .running { pid = record.pid }
        if record.state.isFinal {
            isFinal = true
            exitCode = record.exitCode
            signal = record.signal
        }
    }

    /// The line for a prompt moved to `rejected/`.
    public static func rejection(name: String, rejected: String, reason: String, at: Timestamp) -> Event {
        var event = Event(at: at, state: "rejected")
        event.name = name
        event.rejected = rejected
        event.reason = reason
        return event
    }

    private init(at: Timestamp, state: String) {
        self.at = at
        self.state = state
    }

    public var json: JSON {
        var pairs: [(String, JSON)] = [("schema_version", .int(1)), ("at", .string(at.iso8601))]
        if let id { pairs.append(("id", .string(id))) }
        if let name { pairs.append(("name", .string(name))) }
        pairs.append(("state", .string(state)))
        if let pid { pairs.append(("pid", .int(Int64(pid)))) }
        if isFinal {
            pairs.append(("exit_code", .optional(exitCode.map(Int64.init))))
            pairs.append(("signal", .optional(signal.map(Int64.init))))
        }
        if let from { pairs.append(("from", .string(from))) }
        if let waitingFor { pairs.append(("waiting_for", .array(waitingFor.map(JSON.string)))) }
        if let rejected { pairs.append(("rejected", .string(rejected))) }
        if let reason { pairs.append(("reason", .string(reason))) }
        if let stalled { pairs.append(("stalled", .bool(stalled))) }
        if let idleSeconds { pairs.append(("idle_seconds", .int(Int64(idleSeconds)))) }
        if retry { pairs.append(("retry", .bool(true))) }
        if let notBefore { pairs.append(("not_before", .string(notBefore.iso8601))) }
        return .object(pairs)
    }

    /// Reads a line back; nil when it is not an event (no time or state).
    public init?(json: JSON) {
        guard let at = json["at"]?.string.flatMap(Timestamp.init(iso8601:)), let state = json["state"]?.string else { return nil }
        self.init(at: at, state: state)
        id = json["id"]?.string
        name = json["name"]?.string
        pid = json["pid"]?.int.map { Int32(truncatingIfNeeded: $0) }
        isFinal = json["exit_code"] != nil || json["signal"] != nil
        exitCode = json["exit_code"]?.int.map { Int($0) }
        signal = json["signal"]?.int.map { Int($0) }
        from = json["from"]?.string
        waitingFor = json["waiting_for"]?.array.map { $0.compactMap(\.string) }
        rejected = json["rejected"]?.string
        reason = json["reason"]?.string
        if case .bool(let b)? = json["stalled"] { stalled = b }
        idleSeconds = json["idle_seconds"]?.int.map { Int($0) }
        if case .bool(true)? = json["retry"] { retry = true }
        notBefore = json["not_before"]?.string.flatMap(Timestamp.init(iso8601:))
    }
}
