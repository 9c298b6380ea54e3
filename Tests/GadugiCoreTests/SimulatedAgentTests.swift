import XCTest
@testable import GadugiCore
import SystemPackage

final class SimulatedAgentTests: SpoolTestCase {
    var environment: [String: String] {
        ["GADUGI_ROOT": root, "GADUGI_TASK_ID": "sim", "GADUGI_SIMULATE_STEP": "0"]
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try Files.makeDirectories(layout.taskDirectory("sim"))
    }

    func run(_ prompt: String, environment env: [String: String]? = nil) -> (Int32, String) {
        var output = ""
        let status = SimulatedAgent.run(environment: env ?? environment, input: Array(prompt.utf8)) { output += $0 }
        return (status, output)
    }

    func testSucceedsAndReportsProgress() {
        let (status, output) = run("Fix the login page\nmore\n")
        XCTAssertEqual(status, 0)
        let lines = output.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "simulated agent for sim: read 24 bytes: Fix the login page")
        XCTAssertEqual(lines.filter { $0.hasPrefix("step ") }.count, 4)
        XCTAssertEqual(lines.last, "finished")
        XCTAssertEqual(AgentReport.load(layout.report("sim")), AgentReport(percent: 100, message: "writing the summary"))
        XCTAssertTrue(exists(layout.heartbeat("sim")))
    }

    func testFailsWhenThePromptAsks() {
        XCTAssertEqual(run("Title\nsimulate: fail\n").0, 1)
        XCTAssertEqual(run("Title\r\nsimulate: fail\r\n").0, 1, "CRLF line ends")
        XCTAssertEqual(run("Title\n  simulate: fail  \n").0, 1)
        XCTAssertEqual(run("Title\nsimulate: failure\n").0, 0)
        XCTAssertTrue(run("x\nsimulate: fail\n").1.contains("simulated failure"))
    }

    func testRunsWithoutASpool() {
        let (status, output) = run("", environment: ["GADUGI_SIMULATE_STEP": "0"])
        XCTAssertEqual(status, 0)
        XCTAssertTrue(output.hasPrefix("simulated agent for ?: read 0 bytes: (empty)"), output)
    }
}
