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
    /// `.gadugi/control/`, watched too: any change there is posted as `.control`.
    let control: String?
    let mailbox: Mailbox

    public init(directory: String, control: String? = nil, mailbox: Mailbox) {
        self.directory = directory
        self.control = control
        self.mailbox = mailbox
    }

    /// What the control folder's watch asks for: requests written or moved in, and removed (a
    /// released hold).
    static let controlMask = Int32(bitPattern: UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_DELETE)
        | UInt32(IN_MOVED_FROM) | UInt32(IN_CREATE))

    /// What the watch asks for: prompts closed after writing or moved in, and the folder itself
    /// going away (removed, or moved aside and maybe replaced), which would otherwise end the
    /// watch without a word.
    static let mask = Int32(bitPattern: UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)
        | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF))

    /// Adds the watch (before returning, so a scan that follows misses nothing), then reads events
    /// on its own thread for the life of the process.
    public func start() throws(Failure) {
        let result = Mutex<Failure?>(nil)
        let added = DispatchSemaphore(value: 0)
        let directory = self.directory
        let control = self.control
        let mailbox = self.mailbox
        let thread = Thread {
            if inotifytools_initialize() == 0 {
                result.withLock { $0 = .initialize(inotifytools_error()) }
                added.signal()
                return
            }
            if inotifytools_watch_file(directory, Watcher.mask) == 0 {
                result.withLock { $0 = .watch(directory, inotifytools_error()) }
                added.signal()
                return
            }
            // Without it, requests are still read at each rescan (every 2 s).
            if let control { _ = inotifytools_watch_file(control, Watcher.controlMask) }
            added.signal()
            Watcher.readEvents(directory, control, mailbox)
        }
        thread.start()
        added.wait()
        if let failure = result.withLock({ $0 }) { throw failure }
    }

    private static func readEvents(_ directory: String, _ control: String?, _ mailbox: Mailbox) {
        while true {
            guard let event = inotifytools_next_event(-1) else {
                let error = inotifytools_error()
                if error == 0 || error == EINTR { continue }
                mailbox.post(.watcherFailed("inotify read failed (errno \(error)); relying on rescans"))
                return
            }
            let mask = event.pointee.mask
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                mailbox.post(.rescan)
                continue
            }
            if let control, let watched = inotifytools_filename_from_wd(event.pointee.wd),
               String(cString: watched).hasPrefix(control) {
                mailbox.post(.control)
                continue
            }
            if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)) != 0 {
                let removed = mask & UInt32(IN_DELETE_SELF) != 0
                // A removed folder's watch is gone already; a moved one's would follow it.
                if !removed { inotifytools_remove_watch_by_wd(event.pointee.wd) }
                let how = removed ? "removed" : "moved away"
                rewatch(directory, mailbox, how)
                continue
            }
            guard event.pointee.len > 0 else { continue }
            // The name is a flexible array member that Swift does not import.
            let namePointer = UnsafeRawPointer(event).advanced(by: MemoryLayout<inotify_event>.size)
                .assumingMemoryBound(to: CChar.self)
            let name = String(cString: namePointer)
            mailbox.post(mask & UInt32(IN_MOVED_TO) != 0 ? .arrived(name) : .written(name))
        }
    }

    /// Makes the folder again if it is gone and watches it (the new one, if it was replaced), then
    /// asks for a rescan: files may have arrived in between. Tries twice a second until it works.
    private static func rewatch(_ directory: String, _ mailbox: Mailbox, _ how: String) {
        var said = false
        while true {
            // Only the folder itself is made again: if its parent went too, the spool was removed
            // and is not ours to rebuild from here.
            let existed = (try? Files.isDirectory(directory)) == true
            if existed || (try? Files.makeDirectory(directory)) == true,
               inotifytools_watch_file(directory, mask) != 0 {
                mailbox.post(.incomingReplaced("\(directory) was \(how); "
                    + (existed ? "watching the one now there" : "made it again and watching it")))
                mailbox.post(.rescan)
                return
            }
            if !said {
                mailbox.post(.watcherFailed("\(directory) was \(how) and cannot be made or watched again "
                    + "(errno \(inotifytools_error())); trying twice a second"))
                said = true
            }
            usleep(500_000)
        }
    }
}
