import Glibc

/// The write end of `WatchSignals`' pipe, for its handler: a C signal handler captures nothing,
/// and may only do async-signal-safe things (a `write`).
nonisolated(unsafe) private var watchSignalsWriteEnd: CInt = -1

/// Signals for the live view, as bytes on a pipe the view `poll`s with its other descriptors (the
/// self-pipe trick): SIGWINCH (the terminal was resized: measure and draw again), SIGTSTP (Ctrl-Z:
/// give the terminal back, then stop; see `stopProcess`), SIGCONT (continued: draw again), and
/// SIGINT, SIGTERM and SIGHUP (leave, restoring the terminal first). A handler, not a blocked
/// mask: the runtime's other threads would take a signal they do not block, and die of it.
public final class WatchSignals {
    public static let caught = [SIGWINCH, SIGTSTP, SIGCONT, SIGINT, SIGTERM, SIGHUP]
    private let readEnd: CInt
    private let writeEnd: CInt
    private var previous: [Int32: sigaction] = [:]

    public init() throws(SystemError) {
        var ends: [CInt] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .last("pipe", "(for the live view's signals)") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        readEnd = ends[0]
        writeEnd = ends[1]
        watchSignalsWriteEnd = writeEnd
        for signal in WatchSignals.caught {
            previous[signal] = WatchSignals.catchIntoPipe(signal)
        }
    }

    /// Sends `signal` to the pipe from now on; returns what was set before.
    @discardableResult
    static func catchIntoPipe(_ signal: Int32) -> sigaction {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { number in
            let saved = errno
            var byte = UInt8(truncatingIfNeeded: number)
            _ = write(watchSignalsWriteEnd, &byte, 1)
            errno = saved
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        var old = sigaction()
        sigaction(signal, &action, &old)
        return old
    }

    /// Stops this process as Ctrl-Z would have without a handler (the default action of SIGTSTP),
    /// and returns once it is continued (`fg`, `bg`, SIGCONT). The caller gives the terminal back
    /// first and takes it again after. In an orphaned process group (no shell with job control
    /// above it) the kernel discards the stop and this returns at once, as for any program.
    public func stopProcess() {
        var standard = sigaction()
        standard.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&standard.sa_mask)
        sigaction(SIGTSTP, &standard, nil)
        raise(SIGTSTP)
        WatchSignals.catchIntoPipe(SIGTSTP)
    }

    /// Puts the handlers back as they were.
    deinit {
        for (signal, old) in previous {
            var action = old
            sigaction(signal, &action, nil)
        }
        watchSignalsWriteEnd = -1
        close(readEnd)
        close(writeEnd)
    }

    /// What to `poll` for readability.
    public var fileDescriptor: CInt { readEnd }

    /// The signals that came since the last call, in order.
    public func take() -> [Int32] {
        var out: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            guard n > 0 else { return out }
            out += buffer[0..<n].map { Int32($0) }
        }
    }
}
