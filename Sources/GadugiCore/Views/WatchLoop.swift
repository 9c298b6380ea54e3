import Glibc

/// When `gadugi watch` draws: after a change on disk (a `FolderWatch` on the queue folders, the
/// monitoring folder, the task folders of active tasks and the control folder wakes it), at most
/// so often, and once a second in the live view so that elapsed times and heartbeat ages move.
/// Inotify, not a polling loop: with nothing changing it wakes only for that tick.
public final class WatchLoop {
    public let layout: Layout
    public let selection: StatusReport.Selection
    /// Leave once nothing is left to do (`WatchLoop.isIdle`).
    public let untilIdle: Bool
    let folders: FolderWatch
    /// Task folders watched now: those of active tasks (their progress and log change).
    private var taskFolders: Set<String> = []

    /// Draws at most this often after changes in the live view (10 a second).
    static let coalesce = 0.1
    /// The live view's tick, so that times move with nothing else changing.
    static let tick = 1.0

    public init(layout: Layout, selection: StatusReport.Selection, untilIdle: Bool) throws(SystemError) {
        self.layout = layout
        self.selection = selection
        self.untilIdle = untilIdle
        folders = try FolderWatch()
    }

    /// Nothing left that would change without a new prompt: nothing queued, claimed, pending in
    /// Slurm or running, and nothing waiting while a coordinator runs (with none, a waiting task
    /// waits for one, as `run --until-idle` leaves then too). Blocked tasks wait for a retry: they
    /// do not count.
    public static func isIdle(_ report: StatusReport) -> Bool {
        let count = { (name: String) in report.counts.first { $0.0 == name }?.1 ?? 0 }
        let coordinator = report.coordinator["pid"]?.int != nil
        return count("queued") == 0 && count("claimed") == 0 && count("pending") == 0 && count("running") == 0
            && (count("waiting") == 0 || !coordinator)
    }

    /// A report of the spool now, and the watches it calls for (set before the frame is drawn,
    /// so that a change made while it is drawn wakes the next wait).
    public func report() -> StatusReport {
        for queue in [Layout.Queue.incoming, .claimed, .running, .done, .failed, .cancelled, .rejected] {
            folders.watch(layout.queue(queue))
        }
        folders.watch(layout.monitoring)
        folders.watch(layout.tasks)
        folders.watch(layout.base + "/control")
        let report = StatusReport(layout: layout, selection: selection)
        let active = Set(report.tasks.filter { !$0.shown.isFinal }.map { layout.taskDirectory($0.record.id) })
        for gone in taskFolders.subtracting(active) { folders.unwatch(gone) }
        taskFolders = Set(active.filter { folders.watch($0) })
        return report
    }

    public func frame(_ report: StatusReport, title: String? = nil) -> WatchFrame {
        WatchFrame(report: report, title: title) { [layout] id in WatchFrame.lastLogLine(layout, id: id) }
    }

    /// Plain frames for a pipe or a file: one now, then one whenever something changed, at most
    /// every `interval` seconds, each after a blank line and a line with the time. Returns the
    /// exit status (0 once idle with `untilIdle`; it runs until killed otherwise).
    public func runPlain(width: Int?, interval: Double, colour: Bool, write: (String) -> Void) -> Int32 {
        var changed = true
        var printed = false
        while true {
            let report = report()
            let idle = untilIdle && WatchLoop.isIdle(report)
            if changed {
                let title = "gadugi watch, " + WatchLoop.clock()
                write((printed ? "\n" : "") + frame(report, title: title).text(width: width, colour: colour))
                printed = true
                changed = false
            }
            if idle { return 0 }
            // Wait for a change (re-reading once a second for `untilIdle`), then let `interval` pass.
            let start = WatchLoop.monotonic()
            if folders.wait(timeout: untilIdle ? 1.0 : interval) {
                changed = true
                WatchLoop.sleep(interval - (WatchLoop.monotonic() - start))
                folders.wait(timeout: 0)
            }
        }
    }

    /// Why the live view ended.
    public enum Ending: Equatable {
        /// `q` typed, or the input ended.
        case quit
        /// Nothing left to do (`untilIdle`).
        case idle
        /// A terminating signal (SIGINT, SIGTERM, SIGHUP): its number.
        case signal(Int32)
    }

    /// The live view: draws on `screen` after changes (coalesced) and every second, measures the
    /// terminal again on SIGWINCH, gives the terminal back while stopped by Ctrl-Z (SIGTSTP), and
    /// ends on q, a terminating signal or, with `untilIdle`, once idle. The screen is given back
    /// before it returns, whichever way it ends.
    public func runLive(screen: LiveScreen, signals: WatchSignals, colour: Bool) -> Ending {
        screen.start()
        defer { screen.restore() }
        var dirty = true
        var drawn = -Double.infinity
        var readKeys = screen.input != nil
        while true {
            let now = WatchLoop.monotonic()
            if (dirty && now - drawn >= WatchLoop.coalesce) || now - drawn >= WatchLoop.tick {
                let report = report()
                let (columns, rows) = screen.size()
                let title = "gadugi watch  \(layout.root)  \(WatchLoop.clock())  (q quits)"
                screen.draw(frame(report, title: title).lines(width: columns, height: rows, colour: colour))
                drawn = now
                dirty = false
                if untilIdle && WatchLoop.isIdle(report) { return .idle }
            }
            let next = dirty ? drawn + WatchLoop.coalesce : drawn + WatchLoop.tick
            var fds = [pollfd(fd: folders.fileDescriptor, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals.fileDescriptor, events: Int16(POLLIN), revents: 0)]
            if readKeys, let input = screen.input { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
            let wait = Int32(max(0, min(next - WatchLoop.monotonic(), WatchLoop.tick)) * 1000)
            guard poll(&fds, nfds_t(fds.count), max(1, wait)) > 0 else { continue }
            if fds[0].revents != 0 {
                folders.wait(timeout: 0)
                dirty = true
            }
            if fds[1].revents != 0 {
                for signal in signals.take() {
                    switch signal {
                    case SIGWINCH, SIGCONT:
                        // Resized, or continued after a stop someone else caused: draw it all again.
                        dirty = true
                        drawn = -Double.infinity
                    case SIGTSTP:
                        // Ctrl-Z: the shell gets its screen and input mode back while this is stopped.
                        screen.restore()
                        signals.stopProcess()
                        screen.start()
                        dirty = true
                        drawn = -Double.infinity
                    default:
                        return .signal(signal)
                    }
                }
            }
            if fds.count > 2, fds[2].revents != 0 {
                guard let keys = screen.keys() else { readKeys = false; continue }
                if keys.contains(UInt8(ascii: "q")) || keys.contains(UInt8(ascii: "Q")) { return .quit }
            }
        }
    }

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        nanosleep(&pause, nil)
    }

    /// The local time of day, `14:03:07`.
    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 16)
        let n = strftime(&buffer, buffer.count, "%H:%M:%S", &parts)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension WatchFrame {
    /// The last line of a task's `output.log` with something on it, read from the file's last
    /// 4 KiB only (a log may be huge); after a carriage return, what it shows last (a progress
    /// line redrawn in place). Nil without a log.
    public static func lastLogLine(_ layout: Layout, id: String) -> String? {
        let tail = TaskLookup.tail(of: layout.log(id), bytes: 4096)
        guard !tail.isEmpty else { return nil }
        for line in tail.split(separator: 0x0A).reversed() {
            for part in line.split(separator: 0x0D).reversed() {
                let text = TerminalText.oneLine(String(decoding: part, as: UTF8.self))
                if !text.isEmpty { return text }
            }
        }
        return nil
    }
}
