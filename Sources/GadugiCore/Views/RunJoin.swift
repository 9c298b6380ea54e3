import Foundation

/// Whether `gadugi run FILE...` joins a coordinator instead of being one.
public enum RunJoin {
    /// The pid of the live coordinator of this spool, as its lock file says (`?` when the file
    /// holds none); nil when no coordinator holds the lock.
    public static func coordinatorPID(_ layout: Layout) -> String? {
        guard CoordinatorLock.isHeld(layout) else { return nil }
        let text = ((try? Files.readText(layout.coordinatorLock, limit: 64)) ?? nil)?.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.flatMap { $0.isEmpty ? nil : $0 } ?? "?"
    }
}
