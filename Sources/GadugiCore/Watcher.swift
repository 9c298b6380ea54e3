import CInotifyTools
import Foundation
import Glibc
import Synchronization

/// Watches `incoming/` with inotify through libinotifytools. The library keeps all its state in
/// process globals and returns events in a static buffer, so one dedicated thread makes every
/// call and copies each event before asking for the next.
public final class Watcher: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case initialize(Int32)
        case watch(String, Int32)

        public var description: String {
            switch self {
            case .initialize(let e):
                return "cannot initialise inotify (errno \(e)): raise fs.inotify.max_user_instances or free some"
            case .watch(let path, let e):
                return "cannot watch \(path) (errno \(e)): raise fs.inotify.max_user_watches, or check the path"
            }
        }
    }

    let directory: String
    let mailbox: Mailbox

    public init(directory: String, mailbox: Mailbox) {
        self.directory = directory
        self.mailbox = mailbox
    }

    /// Adds the watch (before returning, so a scan that follows misses nothing), then reads events
    /// on its own thread for the life of the process.
    public func start() throws(Failure) {
        let result = Mutex<Failure?>(nil)
        let added = DispatchSemaphore(value: 0)
        let directory = self.directory
        let mailbox = self.mailbox
        let thread = Thread {
            if inotifytools_initialize() == 0 {
                result.withLock { $0 = .initialize(inotifytools_error()) }
                added.signal()
                return
            }
            let mask = Int32(bitPattern: UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO))
            if inotifytools_watch_file(directory, mask) == 0 {
                result.withLock { $0 = .watch(directory, inotifytools_error()) }
                added.signal()
                return
            }
            added.signal()
            Watcher.readEvents(mailbox)
        }
        thread.start()
        added.wait()
        if let failure = result.withLock({ $0 }) { throw failure }
    }

    private static func readEvents(_ mailbox: Mailbox) {
        while true {
            guard let event = inotifytools_next_event(-1) else {
                let error = inotifytools_error()
                if error == 0 || error == EINTR { continue }
                mailbox.post(.watcherFailed("inotify read failed (errno \(error)); relying on rescans"))
                return
            }
            if event.pointee.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                mailbox.post(.rescan)
                continue
            }
            guard event.pointee.len > 0 else { continue }
            // The name is a flexible array member that Swift does not import.
            let namePointer = UnsafeRawPointer(event).advanced(by: MemoryLayout<inotify_event>.size)
                .assumingMemoryBound(to: CChar.self)
            mailbox.post(.arrived(String(cString: namePointer)))
        }
    }
}
