// Validating gadugi's JSON against docs/schemas/ from a test: a python that can (it needs
// jsonschema and yaml) and validate.py --strict. Shared by SchemaTests and CommandSchemaTests.

import Foundation
import XCTest

extension GadugiTestCase {
    var validator: URL { SchemaTests.schemas.appendingPathComponent("validate.py") }

    /// A python that has jsonschema and yaml: $GADUGI_PYTHON, `python3` on PATH, or Debian's.
    func python() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        let path = (env["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
        for candidate in [env["GADUGI_PYTHON"]].compactMap({ $0 }) + path + ["/usr/bin/python3"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            let url = URL(fileURLWithPath: candidate)
            if let r = try? runProgram(url, ["-c", "import jsonschema, yaml"], timeout: 30), r.status == 0 { return url }
        }
        XCTFail("no python3 with jsonschema and yaml: apt-get install python3-jsonschema python3-yaml (or set GADUGI_PYTHON)")
        throw XCTSkip("no validator")
    }

    /// Runs validate.py --strict on `args` (NAME FILE..., or --spool ROOT); returns the result.
    func validate(_ args: [String]) throws -> RunResult {
        try runProgram(try python(), [validator.path, "--strict"] + args, timeout: 120)
    }
}
