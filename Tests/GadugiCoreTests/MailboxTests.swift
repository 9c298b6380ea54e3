import Dispatch
import XCTest
@testable import GadugiCore
import SystemPackage

final class MailboxTests: XCTestCase {
    func testTakeReturnsEverythingPostedInOrder() {
        let box = Mailbox()
        box.post(.arrived("a.md"))
        box.post(.rescan)
        box.post(.exited(12, 0))
        XCTAssertEqual(box.take(timeout: 0), [.arrived("a.md"), .rescan, .exited(12, 0)])
        XCTAssertEqual(box.take(timeout: 0), [], "taken events are gone")
    }

    func testTakeWaitsForAnEventFromAnotherThread() {
        let box = Mailbox()
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { box.post(.signal(15)) }
        var got: [CoordinatorEvent] = []
        let deadline = Timestamp.now().asDouble + 10
        while got.isEmpty && Timestamp.now().asDouble < deadline {
            got += box.take(timeout: 5)
        }
        XCTAssertEqual(got, [.signal(15)])
    }

    func testTakeTimesOutEmpty() {
        XCTAssertEqual(Mailbox().take(timeout: 0.01), [])
    }
}
