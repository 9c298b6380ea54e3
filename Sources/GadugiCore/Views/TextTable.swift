/// A table of one-line cells laid out in columns two spaces apart, made to fit a width: the
/// columns that may shrink give up columns (the last first) down to their least width, and their
/// cells are cut with `…`; should that not be enough, each line is cut at the width. So a row is
/// always one line on the terminal, however long an id or a message.
public struct TextTable: Sendable {
    public struct Column: Sendable {
        public var title: String
        /// The narrowest this column may be cut to when the table must fit; nil: never cut.
        public var minWidth: Int?

        public init(_ title: String, minWidth: Int? = nil) {
            self.title = title
            self.minWidth = minWidth
        }
    }

    public var columns: [Column]
    /// One array of cells per row, as many as columns; each cell one line (see `TerminalText.oneLine`).
    public var rows: [[String]]
    public static let gap = 2

    public init(columns: [Column], rows: [[String]]) {
        self.columns = columns
        self.rows = rows
    }

    /// The header line and one line per row, without trailing spaces, each at most `width`
    /// columns wide (nil: as wide as they are).
    public func lines(width: Int?) -> [String] {
        let widths = columnWidths(fitting: width)
        return ([columns.map(\.title)] + rows).map { cells in
            let parts = columns.indices.map { i -> String in
                let cell = TerminalText.fitted(i < cells.count ? cells[i] : "", to: widths[i])
                return i == columns.count - 1 ? cell : TerminalText.padded(cell, to: widths[i])
            }
            let line = trimmingTrailingSpaces(parts.joined(separator: String(repeating: " ", count: TextTable.gap)))
            return width.map { TerminalText.fitted(line, to: $0) } ?? line
        }
    }

    /// Each column's natural width (its widest cell or title), then, while the whole is wider
    /// than `width`, the shrinkable columns narrowed from the last one leftwards.
    func columnWidths(fitting width: Int?) -> [Int] {
        var widths = columns.indices.map { i in
            ([columns[i].title] + rows.map { i < $0.count ? $0[i] : "" }).map(TerminalText.width).max() ?? 0
        }
        guard let width, !widths.isEmpty else { return widths }
        var over = widths.reduce(0, +) + TextTable.gap * (widths.count - 1) - width
        for i in columns.indices.reversed() where over > 0 {
            guard let least = columns[i].minWidth, widths[i] > least else { continue }
            let cut = min(over, widths[i] - least)
            widths[i] -= cut
            over -= cut
        }
        return widths
    }

    func trimmingTrailingSpaces(_ line: String) -> String {
        var s = Substring(line)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
