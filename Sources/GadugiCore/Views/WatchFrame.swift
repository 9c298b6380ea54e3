/// One screen of `gadugi watch`: the counts per state, the status notes, then a row per task with
/// its id, state, elapsed time, heartbeat age, a progress bar, the message, the last line of its
/// log and its branch, fitted to a width and a height. Pure: it reads nothing but what it is
/// given (a `StatusReport` and a way to get a task's last log line), so the tests render it
/// without a terminal; `LiveScreen` draws it and `WatchLoop` decides when.
public struct WatchFrame {
    public var report: StatusReport
    /// The last line of a task's log, by id (`WatchFrame.lastLogLine` reads it); asked only for
    /// the rows that fit.
    public var lastLogLine: (String) -> String?
    /// A line above the counts (the live view's title); nil: none.
    public var title: String?

    /// Columns left out, in this order, when the table would not fit even with every column cut
    /// to its least width: the branch, then the log line.
    static let optionalColumns = ["BRANCH", "LOG"]
    /// Cells of the progress bar, and the narrower bar below `wideFrom` columns.
    static let barCells = 10, narrowBarCells = 5, wideFrom = 100

    public init(report: StatusReport, title: String? = nil, lastLogLine: @escaping (String) -> String? = { _ in nil }) {
        self.report = report
        self.title = title
        self.lastLogLine = lastLogLine
    }

    /// The frame's lines, each at most `width` columns (nil: as wide as they come) and at most
    /// `height` of them (nil: all rows); with `colour`, states, the progress bars and stalled
    /// heartbeats are coloured (the widths are those of the text without its colour codes).
    public func lines(width: Int?, height: Int?, colour: Bool) -> [String] {
        let style = WatchStyle(enabled: colour)
        var out: [String] = []
        if let title { out.append(style.title(fit(title, width))) }
        out.append(countsLine(width: width, style: style))
        // The status notes (hold, worktrees kept, coordinator), as `gadugi status` prints them.
        out += report.header.split(separator: "\n").dropFirst().map { style.note(fit(String($0), width)) }
        let entries = self.entries
        guard !entries.isEmpty else {
            out.append(style.note(fit("nothing to show: no task is queued or active (--all lists finished ones too)", width)))
            return height.map { Array(out.prefix($0)) } ?? out
        }
        // Room for the header line and the rows; one row gives way to "… N more" when they do not fit.
        let room = height.map { max(1, $0 - out.count - 1) } ?? entries.count
        let shown = entries.count <= room ? entries : Array(entries.prefix(max(0, room - 1)))
        out += table(shown.map(cells), width: width, style: style)
        let more = entries.count - shown.count
        if more > 0 { out.append(style.note(fit("… \(more) more (a taller terminal, or --state, shows them)", width))) }
        return height.map { Array(out.prefix($0)) } ?? out
    }

    /// The frame as text, one line each (the plain output and `--once`).
    public func text(width: Int?, height: Int? = nil, colour: Bool) -> String {
        lines(width: width, height: height, colour: colour).map { $0 + "\n" }.joined()
    }

    func fit(_ text: String, _ width: Int?) -> String {
        width.map { TerminalText.fitted(text, to: $0) } ?? text
    }

    /// `queued 1  running 2  done 3 ...`, each state coloured as its rows are.
    func countsLine(width: Int?, style: WatchStyle) -> String {
        let shown = report.shownCounts
        let plain = shown.map { "\($0.0) \($0.1)" }.joined(separator: "  ")
        guard TerminalText.width(plain) <= width ?? Int.max else { return fit(plain, width) }
        return shown.map { name, n in
            let state = StatusReport.DisplayState(rawValue: name)
            return n > 0 ? style.state(state, "\(name) \(n)") : "\(name) \(n)"
        }.joined(separator: "  ")
    }
}

/// The rows and their cells.
extension WatchFrame {
    /// A row of the table: a task, or a prompt that is no task yet.
    enum Entry {
        case task(StatusReport.Row)
        case prompt(StatusReport.Prompt)
    }

    /// In `gadugi status`'s order: active tasks, the queue behind them, what has ended, rejected prompts.
    var entries: [Entry] {
        let active = report.tasks.filter { !$0.shown.isFinal }, ended = report.tasks.filter(\.shown.isFinal)
        return active.map(Entry.task) + report.shownQueued.map(Entry.prompt) + ended.map(Entry.task)
            + report.rejected.map(Entry.prompt)
    }

    /// One row's cells, plain (one line each), and what colours them.
    struct Cells {
        var texts: [String]
        var state: StatusReport.DisplayState
        var percent: Double?
    }

    static let titles = ["ID", "STATE", "ELAPSED", "BEAT", "PROGRESS", "MESSAGE", "LOG", "BRANCH"]

    func cells(_ entry: Entry) -> Cells {
        switch entry {
        case .task(let row):
            let r = row.record
            let log = lastLogLine(r.id).map(TerminalText.oneLine) ?? ""
            return Cells(texts: [TerminalText.oneLine(r.id), row.shown.rawValue, StatusReport.duration(row.elapsed),
                                 StatusReport.duration(row.heartbeatAge), r.percent.map { "\(Int($0))%" } ?? "-",
                                 TerminalText.oneLine(report.message(row)), log, TerminalText.oneLine(r.branch ?? "")],
                         state: row.shown, percent: r.percent)
        case .prompt(let prompt):
            var texts = report.cells(prompt)
            texts += ["", ""]
            return Cells(texts: texts, state: prompt.shown, percent: nil)
        }
    }
}

/// Laying the table out: which columns, how wide, and the colour put on after the fitting.
extension WatchFrame {
    func table(_ rows: [Cells], width: Int?, style: WatchStyle) -> [String] {
        let bar = (width ?? Int.max) >= WatchFrame.wideFrom ? WatchFrame.barCells : WatchFrame.narrowBarCells
        var columns = WatchFrame.titles.map { title -> TextTable.Column in
            switch title {
            case "ID": return .init(title, minWidth: 8)
            case "MESSAGE", "LOG": return .init(title, minWidth: 10)
            case "BRANCH": return .init(title, minWidth: 12)
            default: return .init(title)
            }
        }
        var texts = rows.map { row in
            row.texts.enumerated().map { i, text in i == 4 ? WatchFrame.progress(row.percent, cells: bar) : text }
        }
        if rows.allSatisfy({ $0.texts[7].isEmpty }) { drop("BRANCH", &columns, &texts) }
        if rows.allSatisfy({ $0.texts[6].isEmpty }) { drop("LOG", &columns, &texts) }
        for name in WatchFrame.optionalColumns where !fits(columns, texts, width) { drop(name, &columns, &texts) }
        let widths = WatchFrame.widths(columns, texts, fitting: width)
        let header = line(columns.map(\.title).map { ($0, nil) }, widths: widths, width: width, style: style)
        return [style.header(header)] + rows.indices.map { r in
            let segments = columns.indices.map { c -> (String, Cell?) in
                (texts[r][c], cellKind(columns[c].title, rows[r], bar: bar))
            }
            return line(segments, widths: widths, width: width, style: style)
        }
    }

    /// What a cell's colour depends on.
    enum Cell {
        case state(StatusReport.DisplayState)
        case beat(stalled: Bool)
        case progress(filled: Int, cells: Int, state: StatusReport.DisplayState)
        case quiet
    }

    func cellKind(_ title: String, _ row: Cells, bar: Int) -> Cell? {
        switch title {
        case "STATE": return .state(row.state)
        case "BEAT": return .beat(stalled: row.state == .stalled)
        case "PROGRESS":
            guard let percent = row.percent else { return nil }
            return .progress(filled: WatchFrame.filledCells(percent, cells: bar), cells: bar, state: row.state)
        case "LOG", "BRANCH": return .quiet
        default: return nil
        }
    }

    /// `██░░░  40%`: a bar of `cells` and the percent; `-` when the task reported none.
    static func progress(_ percent: Double?, cells: Int) -> String {
        guard let percent else { return "-" }
        let filled = filledCells(percent, cells: cells)
        let number = "\(Int(percent))%"
        return String(repeating: "█", count: filled) + String(repeating: "░", count: cells - filled)
            + String(repeating: " ", count: max(1, 5 - number.count)) + number
    }

    static func filledCells(_ percent: Double, cells: Int) -> Int {
        Int((min(100, max(0, percent)) * Double(cells) / 100).rounded(.down))
    }

    /// Whether every column fits at its least width.
    func fits(_ columns: [TextTable.Column], _ texts: [[String]], _ width: Int?) -> Bool {
        guard let width else { return true }
        let widths = WatchFrame.widths(columns, texts, fitting: width)
        return widths.reduce(0, +) + TextTable.gap * (widths.count - 1) <= width
    }

    /// Columns that give way when the table is too wide, first to last: the log line, the
    /// message, the branch, the id (`TextTable` cuts the rightmost first; here the branch, short
    /// and telling, is kept longer than the log line left of it).
    static let shrinkOrder = ["LOG", "MESSAGE", "BRANCH", "ID"]

    /// Each column's natural width, then, while the whole is wider than `width`, the columns of
    /// `shrinkOrder` narrowed in turn down to their least width.
    static func widths(_ columns: [TextTable.Column], _ texts: [[String]], fitting width: Int?) -> [Int] {
        var widths = columns.indices.map { i in
            ([columns[i].title] + texts.map { $0[i] }).map(TerminalText.width).max() ?? 0
        }
        guard let width else { return widths }
        var over = widths.reduce(0, +) + TextTable.gap * (widths.count - 1) - width
        for title in shrinkOrder where over > 0 {
            guard let i = columns.firstIndex(where: { $0.title == title }), let least = columns[i].minWidth,
                  widths[i] > least else { continue }
            let cut = min(over, widths[i] - least)
            widths[i] -= cut
            over -= cut
        }
        return widths
    }

    func drop(_ title: String, _ columns: inout [TextTable.Column], _ texts: inout [[String]]) {
        guard let i = columns.firstIndex(where: { $0.title == title }) else { return }
        columns.remove(at: i)
        for r in texts.indices { texts[r].remove(at: i) }
    }

    /// One line: each cell fitted and padded to its column, trailing blanks trimmed, cut at the
    /// width, then coloured (the colour codes take no columns).
    func line(_ cells: [(String, Cell?)], widths: [Int], width: Int?, style: WatchStyle) -> String {
        var parts: [(String, Cell?)] = []
        for (i, (text, kind)) in cells.enumerated() {
            let fitted = TerminalText.fitted(text, to: widths[i])
            parts.append((fitted, kind))
            let pad = i == cells.count - 1 ? 0 : widths[i] - TerminalText.width(fitted) + TextTable.gap
            parts.append((String(repeating: " ", count: max(0, pad)), nil))
        }
        // Trailing blanks go; so does whatever passes the width.
        while let last = parts.last, last.0.allSatisfy({ $0 == " " }) { parts.removeLast() }
        var used = 0
        var out = ""
        for (text, kind) in parts {
            let left = (width ?? Int.max) - used
            if left <= 0 { break }
            let w = TerminalText.width(text)
            let piece = w <= left ? text : TerminalText.fitted(text, to: left)
            used += min(w, left)
            out += style.cell(piece, kind, whole: piece == text)
        }
        return out
    }
}
