import Glibc

/// How wide the output may be. `COLUMNS` wins when set (scripts and tests can ask for a width);
/// else a terminal's own width (`TIOCGWINSZ`); else, for a pipe or a file, no limit: what goes
/// to `grep` or a log is not cut.
public enum TerminalWidth {
    public static func columns(environment: [String: String], descriptor: CInt = STDOUT_FILENO) -> Int? {
        if let text = environment["COLUMNS"], let n = Int(text), n > 0 {
            return n
        }
        guard isatty(descriptor) == 1 else { return nil }
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}
