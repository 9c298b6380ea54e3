import Foundation
import XCTest
@testable import GadugiCore

/// `Submission`: a call's files checked first, then queued as one batch.
final class SubmissionTests: SpoolTestCase {
    func queued() -> [String] {
        ((try? Files.list(layout.queue(.incoming))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func testFilesAreQueuedInOrderUnderTheNamesTheCoordinatorWillSee() throws {
        try write(root + "/fix login.md", "Fix it.\n")
        try write(root + "/notes.txt", "Write notes.\n")
        let submission = try Submission.queue([root + "/fix login.md", root + "/notes.txt"], in: layout)
        XCTAssertEqual(submission.ids, ["fix-login", "notes"])
        XCTAssertEqual(submission.entries.map(\.queuedName), ["fix-login.md", "notes.txt"])
        XCTAssertEqual(queued(), ["fix-login.md", "notes.txt"])
        XCTAssertEqual(submission.json.encoded(pretty: false),
                       #"[{"file":"\#(root)/fix login.md","id":"fix-login"},{"file":"\#(root)/notes.txt","id":"notes"}]"#)
    }

    func testAFileThatFailsItsCheckQueuesNothing() throws {
        try write(root + "/good.md", "Fine.\n")
        try write(root + "/empty.md", "")
        XCTAssertThrowsError(try Submission.queue([root + "/good.md", root + "/empty.md"], in: layout)) { error in
            guard case Submission.Failure.refused(let file, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, root + "/empty.md")
            XCTAssertTrue("\(error)".hasPrefix(root + "/empty.md: "), "\(error)")
        }
        XCTAssertThrowsError(try Submission.queue([root + "/good.md", root + "/missing.md"], in: layout)) { error in
            XCTAssertEqual("\(error)", root + "/missing.md: no such file")
        }
        XCTAssertEqual(queued(), [], "nothing queued, not even the good file")
    }
}
