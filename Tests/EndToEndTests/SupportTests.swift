// The test support itself: a suite of hundreds of end-to-end tests runs thousands of processes in
// one XCTest process, and libinotifytools' select() aborts the whole run on a descriptor past 1023.

import Foundation
import XCTest

final class SupportTests: GadugiTestCase {
    func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }

    func testRunningProgramsLeavesNoDescriptorsOpen() throws {
        try initSpool()
        let before = openDescriptors()
        for _ in 0..<40 {
            _ = try gadugiRun(["status"])
            _ = try runProgram(URL(fileURLWithPath: "/bin/true"), [])
            _ = git(["status"])
        }
        let bg = try startGadugi(["watch", "--interval", "0.1"])
        _ = bg.stop()
        let after = openDescriptors()
        XCTAssertLessThanOrEqual(after, before + 4, "descriptors left open by 120 runs: \(before) before, \(after) after")
    }
}
