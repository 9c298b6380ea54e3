/// How a task's process ended, in words: `exit 3`, `killed by SIGKILL`. Shown where the agent's
/// last progress message would mislead (a failed task's status row, the last line of
/// `gadugi logs -f`).
public enum ProcessEnding {
    /// Nil when neither is known (the process died without recording an outcome).
    public static func phrase(exitCode: Int?, signal: Int?) -> String? {
        if let signal { return "killed by " + signalName(signal) }
        return exitCode.map { "exit \($0)" }
    }

    /// `SIGKILL` for 9; `signal 40` for a number without a name here (Linux numbering).
    public static func signalName(_ number: Int) -> String {
        guard number >= 1, number <= names.count else { return "signal \(number)" }
        return "SIG" + names[number - 1]
    }

    static let names = ["HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
                        "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
                        "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"]
}
