import Glibc

/// The terminal while `gadugi watch` shows its live view: the alternate screen (so the shell's
/// screen comes back as it was), no cursor, and keys read one at a time without echo (so `q`
/// quits at once). `restore` undoes all of it and is safe to call more than once; the loop calls
/// it on every way out (q, a signal, an error), and `deinit` as a last resort.
///
/// The escape codes are the few every terminal emulator of the last decades knows (xterm's
/// private modes 1049 and 25, `CSI H`, `CSI K`, `CSI J`); no terminfo lookup is made. Colour
/// comes from Rainbow, in the frame's lines.
public final class LiveScreen {
    static let enter = "\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J"
    /// Shows the cursor and leaves the alternate screen: the last bytes written, so a test can
    /// check the terminal was given back.
    public static let leave = "\u{1B}[?25h\u{1B}[?1049l"

    let output: CInt
    /// Standard input when it is a terminal: keys are read from it.
    public let input: CInt?
    private var saved: termios?
    private var active = false

    public init(output: CInt = STDOUT_FILENO, input: CInt = STDIN_FILENO) {
        self.output = output
        self.input = isatty(input) == 1 ? input : nil
    }

    deinit { restore() }

    /// Switches to the alternate screen and, when stdin is a terminal, to reading keys without
    /// echo or line editing (Ctrl-C still sends SIGINT).
    public func start() {
        if let input {
            var mode = termios()
            if tcgetattr(input, &mode) == 0 {
                saved = mode
                mode.c_lflag &= ~tcflag_t(ICANON | ECHO)
                withUnsafeMutableBytes(of: &mode.c_cc) { cc in
                    cc[Int(VMIN)] = 1
                    cc[Int(VTIME)] = 0
                }
                tcsetattr(input, TCSANOW, &mode)
            }
        }
        active = true
        write(LiveScreen.enter)
    }

    /// Gives the terminal back as it was: the cursor, the main screen, the input mode.
    public func restore() {
        guard active else { return }
        active = false
        write(LiveScreen.leave)
        if let input, var mode = saved { tcsetattr(input, TCSADRAIN, &mode) }
    }

    /// Columns and rows of the terminal now (80×24 when it does not say).
    public func size() -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (80, 24) }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    /// Draws `lines` from the top-left corner in one write, each line's rest and the rows below
    /// cleared, with no newline after the last (which would scroll the screen).
    public func draw(_ lines: [String]) {
        write("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\r\n") + "\u{1B}[K\u{1B}[J")
    }

    /// The keys typed since the last call; nil at the end of input (the terminal went away).
    public func keys() -> [UInt8]? {
        guard let input else { return [] }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if n == 0 { return nil }
        return n < 0 ? [] : Array(buffer[0..<n])
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
