/// What agents call, through `gadugi heartbeat` and `gadugi progress`: they touch their heartbeat
/// and write their own `report.json`, never a file the coordinator writes.
public struct TaskReporter: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case noTask
        case badTask(String)
        case unknownTask(String, String)
        case io(SystemError)

        public var description: String {
            switch self {
            case .noTask:
                return "no task given: agents get GADUGI_TASK_ID from the coordinator; elsewhere pass --task ID"
            case .badTask(let id):
                return "'\(id)' is not a task id (ids use letters, digits, '_' and '-')"
            case .unknownTask(let id, let root):
                return "no task '\(id)' under \(root)/.gadugi/monitoring/tasks: check the id with 'gadugi status --all', or pass --root"
            case .io(let e): return "\(e)"
            }
        }
    }

    public let layout: Layout
    public let id: String

    /// Finds the task: `flag`, else `$GADUGI_TASK_ID`; it must exist in the spool.
    public init(layout: Layout, flag: String?, environment: [String: String]) throws(Failure) {
        guard let id = flag ?? environment["GADUGI_TASK_ID"], !id.isEmpty else { throw .noTask }
        guard TaskID.isValid(id) else { throw .badTask(id) }
        guard (try? Files.isDirectory(layout.taskDirectory(id))) == true else { throw .unknownTask(id, layout.root) }
        self.layout = layout
        self.id = id
    }

    public func heartbeat() throws(Failure) {
        do { try Files.touch(layout.heartbeat(id)) } catch { throw .io(error) }
    }

    /// Merges `percent` and `message` into the task's report (a value left out keeps the old one),
    /// and beats the heart.
    public func progress(percent: Double?, message: String?) throws(Failure) {
        var report = AgentReport.load(layout.report(id)) ?? AgentReport()
        if let percent { report.percent = percent }
        if let message { report.message = message }
        do {
            try Files.writeAtomically(layout.report(id), report.json.bytes() + [0x0A])
        } catch { throw .io(error) }
        try heartbeat()
    }
}
