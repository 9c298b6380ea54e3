import Logging

/// Warnings about conditions that persist (a full disk, an unwritable folder): said once when the
/// condition begins, then at most once a minute with how often it recurred, and once more when it
/// ends. A fault that lasts an hour makes a few lines, not a line per attempt.
public final class Complaints {
    private let logger: Logger
    private let clock: () -> Double
    /// Seconds between repeats of one complaint.
    public var interval: Double = 60
    private var open: [String: (lastSaid: Double, since: Int)] = [:]

    public init(logger: Logger, clock: @escaping () -> Double = { Timestamp.now().asDouble }) {
        self.logger = logger
        self.clock = clock
    }

    /// Says `message` if `key` is not already open, or if the last time was `interval` ago (then
    /// with the number of repeats since).
    public func say(_ key: String, level: Logger.Level = .warning, _ message: @autoclosure () -> String) {
        let now = clock()
        guard let entry = open[key] else {
            open[key] = (now, 0)
            logger.log(level: level, "\(message())")
            return
        }
        guard now - entry.lastSaid >= interval else {
            open[key] = (entry.lastSaid, entry.since + 1)
            return
        }
        open[key] = (now, 0)
        logger.log(level: level, "\(message()) (still so; \(entry.since + 1) more time(s) since it was last said)")
    }

    /// Ends the complaint `key`, saying `message` if it was open.
    public func resolve(_ key: String, _ message: @autoclosure () -> String) {
        guard open.removeValue(forKey: key) != nil else { return }
        logger.info("\(message())")
    }

    public func isOpen(_ key: String) -> Bool { open[key] != nil }
}
