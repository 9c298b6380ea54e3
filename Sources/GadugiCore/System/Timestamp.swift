import Glibc

/// Wall-clock time with nanoseconds, and its ISO-8601 UTC form, without Foundation's formatters
/// (they cost more than the rest of a state transition).
public struct Timestamp: Comparable, Sendable, Hashable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }

    public var asDouble: Double { Double(seconds) + Double(nanoseconds) / 1e9 }

    /// This time plus `interval` seconds, normalised so that comparisons stay right.
    public func adding(_ interval: Double) -> Timestamp {
        let total = nanoseconds + Int64((interval * 1e9).rounded())
        let carry = total >= 0 ? total / 1_000_000_000 : (total - 999_999_999) / 1_000_000_000
        return Timestamp(seconds: seconds + carry, nanoseconds: total - carry * 1_000_000_000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds)
    }

    /// `2026-11-27T08:01:02.345Z`.
    public var iso8601: String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(nanoseconds / 1_000_000), 3))Z"
    }

    /// Parses what `iso8601` writes (and the same without fraction); nil otherwise.
    public init?(iso8601 text: String) {
        let digits = text.utf8.map { Int($0) - 48 }
        guard text.utf8.count >= 20, text.hasSuffix("Z") else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<(from + count) {
                guard digits[i] >= 0 && digits[i] <= 9 else { return nil }
                v = v * 10 + digits[i]
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
              let mi = num(14, 2), let s = num(17, 2) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(y - 1900)
        parts.tm_mon = Int32(mo - 1)
        parts.tm_mday = Int32(d)
        parts.tm_hour = Int32(h)
        parts.tm_min = Int32(mi)
        parts.tm_sec = Int32(s)
        var ms = 0
        if text.utf8.count >= 24, let frac = num(20, 3) { ms = frac }
        self.init(seconds: Int64(timegm(&parts)), nanoseconds: Int64(ms) * 1_000_000)
    }
}
