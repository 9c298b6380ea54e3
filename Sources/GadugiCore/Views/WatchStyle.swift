@preconcurrency import Rainbow

/// The colours of `gadugi watch`, through Rainbow (which writes the SGR codes and honours
/// `NO_COLOR`). Disabled, every function returns its text unchanged, so a frame without colour
/// is plain text. Rainbow's own switch (`Rainbow.enabled`, `Rainbow.outputTarget`) is set once
/// by `WatchStyle.configure`, from the verb: whether stdout is a terminal and `NO_COLOR`.
public struct WatchStyle {
    let enabled: Bool

    /// Turns Rainbow on for a terminal that wants colour, off otherwise. Called once, before
    /// any frame is drawn (Rainbow's switch is process-wide).
    public static func configure(colour: Bool) {
        Rainbow.outputTarget = colour ? .console : .unknown
        Rainbow.enabled = colour
    }

    /// Whether to colour: stdout is a terminal that is not `dumb` and `NO_COLOR` is not set
    /// (to anything but the empty string: no-color.org).
    public static func wanted(environment: [String: String], isTerminal: Bool) -> Bool {
        guard isTerminal, environment["TERM"] != "dumb" else { return false }
        return (environment["NO_COLOR"] ?? "").isEmpty
    }

    func title(_ text: String) -> String { enabled ? text.bold : text }
    func header(_ text: String) -> String { enabled ? text.bold : text }
    func note(_ text: String) -> String { enabled ? text.dim : text }

    /// A state's colour: green done, red failed or timed out, yellow stalled (bold), cyan running,
    /// blue pending in Slurm,
    /// magenta blocked, dim what is over without a result or not started.
    func state(_ state: StatusReport.DisplayState?, _ text: String) -> String {
        guard enabled, let state else { return text }
        switch state {
        case .running: return text.cyan
        case .pending: return text.blue
        case .stalled: return text.yellow.bold
        case .done: return text.green
        case .failed, .timeout: return text.red
        case .blocked: return text.magenta
        case .waiting, .held, .claimed: return text.yellow
        case .queued, .cancelled, .rejected: return text.dim
        }
    }

    /// A table cell; `whole`: not cut at the line's end (a cut progress bar is left plain).
    func cell(_ text: String, _ kind: WatchFrame.Cell?, whole: Bool) -> String {
        guard enabled, let kind, !text.isEmpty else { return text }
        switch kind {
        case .state(let s): return state(s, text)
        case .beat(let stalled): return stalled ? text.onYellow.black.bold : text
        case .quiet: return text.dim
        case .progress(let filled, let cells, let s):
            guard whole else { return text }
            let bar = Array(text)
            let done = String(bar.prefix(filled)), rest = String(bar.dropFirst(filled).prefix(cells - filled))
            let tail = String(bar.dropFirst(cells))
            let colour: (String) -> String = s == .failed || s == .timeout ? { $0.red } : s == .done ? { $0.green } : { $0.cyan }
            return (done.isEmpty ? "" : colour(done)) + (rest.isEmpty ? "" : rest.dim) + tail
        }
    }
}
