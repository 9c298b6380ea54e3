import Foundation
import Glibc

/// Free space on the spool's file system, asked before each start (one `statvfs`, about a
/// microsecond): a task started on a full disk cannot write its log or its records.
public enum DiskSpace {
    /// Free inodes below which no task starts: a task makes a handful of files.
    public static let minFreeInodes: UInt = 64

    /// Why tasks should not start now (too little space or too few inodes for the unprivileged),
    /// or nil. nil also when the question cannot be asked.
    public static func shortage(_ path: String, minFree: Int64) -> String? {
        guard minFree > 0 else { return nil }
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        let free = Int64(clamping: UInt64(fs.f_bavail) &* UInt64(fs.f_frsize))
        if free < minFree {
            return "only \(format(free)) free on the file system of \(path), less than min_free (\(format(minFree)))"
        }
        if fs.f_files > 0 && fs.f_favail < minFreeInodes {
            return "only \(fs.f_favail) free inodes on the file system of \(path)"
        }
        return nil
    }

    static func format(_ bytes: Int64) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f", value) + " " + units[unit]
    }
}
