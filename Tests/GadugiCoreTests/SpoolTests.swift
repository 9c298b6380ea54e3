import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class SpoolTests: SpoolTestCase {
    var spool: Spool!
    var suffixes: [String: Int] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        spool = Spool(layout: layout)
        suffixes = [:]
    }

    // MARK: helpers

    /// Claims `name` and returns the record, failing the test for any other outcome.
    @discardableResult
    func claimed(_ name: String, spares: SparePool? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> TaskRecord? {
        let intake = try spool.claim(name, suffixes: &suffixes, spares: spares)
        guard case .claimed(let record) = intake else {
            XCTFail("expected \(name) to be claimed, got \(intake)", file: file, line: line)
            return nil
        }
        return record
    }

    /// Claims `name` and returns (rejected name, reason), failing the test for any other outcome.
    @discardableResult
    func rejected(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> (String, String)? {
        let intake = try spool.claim(name, suffixes: &suffixes)
        guard case .rejected(let target, let reason) = intake else {
            XCTFail("expected \(name) to be rejected, got \(intake)", file: file, line: line)
            return nil
        }
        return (target, reason)
    }

    func drop(_ name: String, _ content: String = "Do the thing.\n") throws {
        try write(incoming(name), content)
    }

    func assertReasonFile(_ target: String, original: String, contains words: String,
                          file: StaticString = #filePath, line: UInt = #line) {
        guard let reason = text(layout.queue(.rejected, target + ".reason")) else {
            return XCTFail("no \(target).reason in rejected/ (\(names(layout.queue(.rejected))))", file: file, line: line)
        }
        XCTAssertTrue(reason.hasPrefix(original + ": "), "reason: '\(reason)'", file: file, line: line)
        XCTAssertTrue(reason.hasSuffix("\n"), "reason: '\(reason)'", file: file, line: line)
        XCTAssertEqual(reason.filter { $0 == "\n" }.count, 1, "one line: '\(reason)'", file: file, line: line)
        XCTAssertTrue(reason.contains(words), "reason '\(reason)' should mention '\(words)'", file: file, line: line)
    }

    // MARK: claim

    func testClaimMovesThePromptAndReservesTheTaskFolder() throws {
        try drop("fix login.md", "Fix the login page.\n")
        setMtime(incoming("fix login.md"), seconds: 1_700_000_000)
        let before = Timestamp.now()
        let record = try claimed("fix login.md")
        XCTAssertEqual(record?.id, "fix-login")
        XCTAssertEqual(record?.ext, "md")
        XCTAssertEqual(record?.name, "fix login.md", "without front matter the name is the original file name")
        XCTAssertEqual(record?.state, .claimed)
        XCTAssertEqual(record?.fileName, "fix-login.md")
        XCTAssertEqual(record?.createdAt?.seconds, 1_700_000_000, "created_at is the prompt's mtime")
        XCTAssertGreaterThanOrEqual(record?.claimedAt ?? Timestamp(seconds: 0, nanoseconds: 0), before)
        XCTAssertFalse(exists(incoming("fix login.md")))
        XCTAssertEqual(text(layout.queue(.claimed, "fix-login.md")), "Fix the login page.\n")
        XCTAssertTrue(isDirectory(layout.taskDirectory("fix-login")))
        XCTAssertEqual(names(layout.queue(.claimed)), ["fix-login.md"])
        XCTAssertEqual(names(layout.tasks), ["fix-login"])
        XCTAssertEqual(suffixes["fix-login"], 2, "the next free suffix is remembered")
    }

    func testClaimKeepsTheExtensionAndReadsTheFrontMatterName() throws {
        try drop("Notes.TXT", "---\nname: Tidy the notes\n---\nbody\n")
        let record = try claimed("Notes.TXT")
        XCTAssertEqual(record?.id, "Notes")
        XCTAssertEqual(record?.ext, "TXT")
        XCTAssertEqual(record?.name, "Tidy the notes")
        XCTAssertTrue(exists(layout.queue(.claimed, "Notes.TXT")))
    }

    func testSameNameGetsNumberedIds() throws {
        var ids: [String] = []
        for i in 1...3 {
            try drop("fix-login.md", "attempt \(i)\n")
            ids.append(try claimed("fix-login.md")?.id ?? "?")
        }
        XCTAssertEqual(ids, ["fix-login", "fix-login-2", "fix-login-3"])
        XCTAssertEqual(text(layout.queue(.claimed, "fix-login-2.md")), "attempt 2\n")
        XCTAssertEqual(text(layout.queue(.claimed, "fix-login-3.md")), "attempt 3\n")
        XCTAssertEqual(names(layout.tasks), ["fix-login", "fix-login-2", "fix-login-3"])
        XCTAssertEqual(suffixes["fix-login"], 4)
    }

    func testIdsStayUniqueWithoutTheSuffixCache() throws {
        try drop("fix.md")
        try claimed("fix.md")
        try drop("fix.md")
        try claimed("fix.md")
        suffixes = [:]   // a new coordinator: the folders in tasks/ are the truth
        try drop("fix.md")
        XCTAssertEqual(try claimed("fix.md")?.id, "fix-3")
    }

    func testSuffixCacheIsTrustedAfterThePlainId() throws {
        // The plain id is always tried first (it may be the one `submit` reserved for this file);
        // past it, the cache says 2...6 are taken and the claim goes straight to 7.
        suffixes["other"] = 7
        try drop("other.md")
        XCTAssertEqual(try claimed("other.md")?.id, "other")
        try drop("other.md")
        XCTAssertEqual(try claimed("other.md")?.id, "other-7")
        XCTAssertFalse(exists(layout.taskDirectory("other-2")), "2...6 were not tried")
        XCTAssertEqual(suffixes["other"], 8)
    }

    func testSubmittedLongIdIsHonouredPastTheSuffixCache() throws {
        // A 64-character base: the second submit reserves `<base>-2`, whose stem is longer than a
        // base id. A copy of the same name claimed meanwhile must not push it to another suffix.
        let long = String(repeating: "a", count: 64)
        let first = root + "/first", second = root + "/second"
        try FileManager.default.createDirectory(atPath: first, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        try write(first + "/\(long).md", "one\n")
        try write(second + "/\(long).md", "two\n")
        XCTAssertEqual(try spool.submit(first + "/\(long).md"), long)
        XCTAssertEqual(try spool.submit(second + "/\(long).md"), long + "-2")
        XCTAssertEqual(try claimed("\(long).md")?.id, long)
        suffixes[long] = 4
        XCTAssertEqual(try claimed("\(long)-2.md")?.id, long + "-2", "the id submit printed")
        XCTAssertFalse(exists(layout.submitted(long + "-2")))
    }

    func testSubmittedIdIsHonouredAfterACollidingCopyAdvancedTheCache() throws {
        // `fix login.md` is copied in, then `gadugi submit fix-login.md` reserves `fix-login`.
        let source = root + "/fix-login.md"
        try write(source, "submitted\n")
        let id = try spool.submit(source)
        XCTAssertEqual(id, "fix-login")
        try drop("fix login.md")
        XCTAssertEqual(try claimed("fix login.md")?.id, "fix-login-2", "the reservation is not this file's")
        XCTAssertEqual(try claimed("fix-login.md")?.id, "fix-login", "the submitted file gets the id submit printed")
        XCTAssertFalse(exists(layout.submitted("fix-login")), "the marker goes once the claim is done")
    }

    func testDifferentNamesWithTheSameBaseShareTheNumbering() throws {
        try drop("fix login.md")
        try drop("fix-login.txt")
        let a = try claimed("fix login.md")
        let b = try claimed("fix-login.txt")
        XCTAssertEqual(a?.id, "fix-login")
        XCTAssertEqual(b?.id, "fix-login-2")
        XCTAssertTrue(exists(layout.queue(.claimed, "fix-login-2.txt")))
    }

    func testClaimSkipsAnIdWhoseQueueFileExistsAndReleasesItsFolder() throws {
        // A stray claimed/x.md without a task folder: the rename refuses, the next id is used,
        // and the folder made for the refused id is not left behind.
        try write(layout.queue(.claimed, "x.md"), "stray\n")
        try drop("x.md", "mine\n")
        XCTAssertEqual(try claimed("x.md")?.id, "x-2")
        XCTAssertEqual(text(layout.queue(.claimed, "x.md")), "stray\n", "never overwritten")
        XCTAssertEqual(text(layout.queue(.claimed, "x-2.md")), "mine\n")
        XCTAssertFalse(exists(layout.taskDirectory("x")))
    }

    // MARK: reject

    func testSymlinkIsRejected() throws {
        let target = root + "/real.md"
        try write(target, "real content\n")
        XCTAssertEqual(symlink(target, incoming("link.md")), 0)
        guard let (name, reason) = try rejected("link.md") else { return }
        XCTAssertEqual(name, "link.md")
        XCTAssertTrue(reason.contains("symbolic link"), reason)
        var st = stat()
        XCTAssertEqual(lstat(layout.queue(.rejected, "link.md"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link itself was moved")
        XCTAssertEqual(text(target), "real content\n", "the link's target is untouched")
        assertReasonFile("link.md", original: "link.md", contains: "symbolic link")
        XCTAssertEqual(names(layout.tasks), [], "no id is reserved for a rejected file")
        XCTAssertEqual(names(layout.queue(.claimed)), [])
    }

    func testDirectoryIsRejected() throws {
        XCTAssertEqual(mkdir(incoming("dir.md"), 0o755), 0)
        guard let (name, reason) = try rejected("dir.md") else { return }
        XCTAssertEqual(name, "dir.md")
        XCTAssertTrue(reason.contains("directory"), reason)
        XCTAssertTrue(isDirectory(layout.queue(.rejected, "dir.md")))
        assertReasonFile("dir.md", original: "dir.md", contains: "directory")
        XCTAssertFalse(exists(incoming("dir.md")))
    }

    func testFifoIsRejectedWithoutBlocking() throws {
        XCTAssertEqual(mkfifo(incoming("pipe.md"), 0o644), 0)
        guard let (name, reason) = try rejected("pipe.md") else { return }
        XCTAssertEqual(name, "pipe.md")
        XCTAssertTrue(reason.contains("not a regular file"), reason)
        var st = stat()
        XCTAssertEqual(lstat(layout.queue(.rejected, "pipe.md"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
        assertReasonFile("pipe.md", original: "pipe.md", contains: "fifo")
    }

    func testBinaryIsRejected() throws {
        try write(incoming("bin.md"), [0x68, 0x69, 0x00, 0x01, 0x02])
        guard let (_, reason) = try rejected("bin.md") else { return }
        XCTAssertEqual(reason, Prompt.Rejection.binary.description)
        XCTAssertEqual(bytes(layout.queue(.rejected, "bin.md")), [0x68, 0x69, 0x00, 0x01, 0x02], "content kept")
        assertReasonFile("bin.md", original: "bin.md", contains: "NUL")
    }

    func testEmptyIsRejected() throws {
        try drop("empty.md", "")
        guard let (_, reason) = try rejected("empty.md") else { return }
        XCTAssertEqual(reason, Prompt.Rejection.empty.description)
        assertReasonFile("empty.md", original: "empty.md", contains: "empty")
    }

    func testInvalidUTF8IsRejected() throws {
        try write(incoming("latin1.txt"), [0x63, 0x61, 0x66, 0xE9, 0x0A])
        guard let (_, reason) = try rejected("latin1.txt") else { return }
        XCTAssertEqual(reason, Prompt.Rejection.notUTF8.description)
    }

    func testTooLargeIsRejected() throws {
        try write(incoming("huge.md"), [UInt8](repeating: 0x61, count: Prompt.maxBytes + 1))
        guard let (_, reason) = try rejected("huge.md") else { return }
        XCTAssertEqual(reason, Prompt.Rejection.tooLarge(Prompt.maxBytes + 1).description)
        try write(incoming("huger.md"), [UInt8](repeating: 0x61, count: Prompt.maxBytes + 100))
        guard let (_, reason2) = try rejected("huger.md") else { return }
        XCTAssertEqual(reason2, Prompt.Rejection.tooLarge(Prompt.maxBytes + 100).description, "reported with the real size")
    }

    func testBadFrontMatterIsRejected() throws {
        try drop("fm.md", "---\nname: x\nno closing line\n")
        guard let (_, reason) = try rejected("fm.md") else { return }
        XCTAssertEqual(reason, Prompt.Rejection.badFrontMatter("no closing --- line").description)
        assertReasonFile("fm.md", original: "fm.md", contains: "front matter")
    }

    func testSecondRejectedFileWithTheSameNameIsNumbered() throws {
        for _ in 1...3 {
            try drop("bad.md", "")
            try rejected("bad.md")
        }
        XCTAssertEqual(names(layout.queue(.rejected)),
                       ["bad-2.md", "bad-2.md.reason", "bad-3.md", "bad-3.md.reason", "bad.md", "bad.md.reason"])
        assertReasonFile("bad-2.md", original: "bad.md", contains: "empty")
        assertReasonFile("bad-3.md", original: "bad.md", contains: "empty")
    }

    func testReasonFileIsOneLineEvenForANameWithANewline() throws {
        let name = "two\nlines.md"
        try drop(name, "")
        guard let (target, _) = try rejected(name) else { return }
        XCTAssertEqual(target, name)
        let reason = text(layout.queue(.rejected, target + ".reason")) ?? ""
        XCTAssertEqual(reason.filter { $0 == "\n" }.count, 1, "spool-layout.md: the .reason file is one line of text; got \(reason.debugDescription)")
        XCTAssertTrue(reason.hasSuffix("\n"))
    }

    func testRejectNumbersNamesWithoutExtension() throws {
        for _ in 1...2 {
            try write(incoming("README"), "x")
            _ = try spool.reject("README", reason: "not a prompt")
        }
        XCTAssertEqual(names(layout.queue(.rejected)), ["README", "README-2", "README-2.reason", "README.reason"])
        XCTAssertEqual(text(layout.queue(.rejected, "README-2.reason")), "README: not a prompt\n")
    }

    func testALongestNameRejectedTwiceFitsWithItsReasonFiles() throws {
        // 125 two-byte characters: the cut must fall between them, never inside one.
        let name = String(repeating: "é", count: 125) + "ab.md"
        XCTAssertEqual(name.utf8.count, 255)
        for _ in 1...2 {
            try drop(name, "")
            try rejected(name)
        }
        let rejectedNames = names(layout.queue(.rejected))
        XCTAssertEqual(rejectedNames.count, 4, "\(rejectedNames)")
        let prompts = rejectedNames.filter { !$0.hasSuffix(".reason") }
        XCTAssertEqual(prompts.count, 2, "\(rejectedNames)")
        for target in prompts {
            XCTAssertTrue(rejectedNames.contains(target + ".reason"), "\(rejectedNames)")
            XCTAssertLessThanOrEqual((target + ".reason").utf8.count, 255)
            XCTAssertTrue(target.hasSuffix(".md"), target)
            XCTAssertTrue(target.hasPrefix(String(repeating: "é", count: 121)), target)
            assertReasonFile(target, original: name, contains: "empty")
        }
        XCTAssertTrue(prompts.contains { $0.hasSuffix("é-2.md") }, "\(prompts)")
        XCTAssertEqual(names(layout.queue(.incoming)), [], "nothing left to retry")
    }

    func testRejectedNamesAreCutAtACharacterBoundary() {
        XCTAssertEqual(Spool.rejectedName("fix.md", 1), "fix.md")
        XCTAssertEqual(Spool.rejectedName("fix.md", 3), "fix-3.md")
        let long = String(repeating: "日", count: 84) + ".md"   // 252 + 3 bytes
        let first = Spool.rejectedName(long, 1)
        XCTAssertEqual(first, String(repeating: "日", count: 81) + ".md", "245 bytes of room: 81 whole characters")
        let tenThousandth = Spool.rejectedName(long, 10_000)
        XCTAssertEqual(tenThousandth, String(repeating: "日", count: 79) + "-10000.md")
        let noExtension = String(repeating: "x", count: 255)
        XCTAssertEqual(Spool.rejectedName(noExtension, 2), String(repeating: "x", count: 246) + "-2")
    }

    func testReasonFileEscapesTheNameAndTheReason() throws {
        let name = "evil\u{1B}[2J\\x.md"
        try write(incoming(name), "x")
        _ = try spool.reject(name, reason: "bad key 'a\nb'")
        XCTAssertEqual(text(layout.queue(.rejected, name + ".reason")), "evil\\e[2J\\\\x.md: bad key 'a\\nb'\n")
    }

    func testRejectGivesUpWhenEveryNameIsTaken() throws {
        let taken = ["x.md"] + (2...Spool.maxRejectedSuffix).map { "x-\($0).md" }
        for name in taken {
            let fd = open(layout.queue(.rejected, name), O_WRONLY | O_CREAT | O_EXCL, 0o644)
            XCTAssertGreaterThanOrEqual(fd, 0)
            close(fd)
        }
        try write(incoming("x.md"), "x")
        let error = assertSystemError(.fileExists) { _ = try spool.reject("x.md", reason: "empty") }
        XCTAssertTrue(error?.description.contains("clear it out") ?? false, "\(String(describing: error))")
        XCTAssertTrue(exists(incoming("x.md")), "the file stays where it was")
    }

    func testRejectOfAVanishedFile() throws {
        guard case .vanished = try spool.reject("gone.md", reason: "whatever") else { return XCTFail("expected .vanished") }
        XCTAssertEqual(names(layout.queue(.rejected)), [])
    }

    // MARK: ignored and vanished

    func testIgnoredNamesStayWhereTheyAre() throws {
        let scratch = [".hidden.md", "fix.md~", "fix.md.swp", ".fix.md.swp", "4913", "notes.json", "README", ".fix.md.tmp.42"]
        for name in scratch {
            try drop(name, "")
            let intake = try spool.claim(name, suffixes: &suffixes)
            guard case .ignored = intake else { XCTFail("\(name): expected .ignored, got \(intake)"); continue }
            XCTAssertTrue(exists(incoming(name)), "\(name) must stay in incoming/")
        }
        XCTAssertEqual(names(layout.queue(.rejected)), [])
        XCTAssertEqual(names(layout.queue(.claimed)), [])
        XCTAssertEqual(names(layout.tasks), [])
    }

    func testVanishedFile() throws {
        let intake = try spool.claim("gone.md", suffixes: &suffixes)
        guard case .vanished = intake else { return XCTFail("expected .vanished, got \(intake)") }
        XCTAssertEqual(names(layout.tasks), [], "no id reserved for a file that is not there")
        XCTAssertEqual(names(layout.queue(.rejected)), [])
    }

    // MARK: start, finish, requeue

    func testStartFinishAndRequeueMoveTheFile() throws {
        try drop("a.md", "A\n")
        try drop("b.md", "B\n")
        guard let a = try claimed("a.md"), let b = try claimed("b.md") else { return }
        try spool.start(a)
        XCTAssertEqual(names(layout.queue(.claimed)), ["b.md"])
        XCTAssertEqual(text(layout.queue(.running, "a.md")), "A\n")
        try spool.requeue(a)
        XCTAssertEqual(names(layout.queue(.running)), [])
        XCTAssertEqual(text(layout.queue(.claimed, "a.md")), "A\n")
        try spool.start(a)
        try spool.start(b)
        try spool.finish(ended(a, .done))
        try spool.finish(ended(b, .failed))
        XCTAssertEqual(text(layout.queue(.done, "a.md")), "A\n")
        XCTAssertEqual(text(layout.queue(.failed, "b.md")), "B\n")
        XCTAssertEqual(names(layout.queue(.running)), [])
        XCTAssertEqual(names(layout.queue(.claimed)), [])
    }

    func testStartNeverOverwrites() throws {
        try drop("a.md", "mine\n")
        guard let a = try claimed("a.md") else { return }
        try write(layout.queue(.running, "a.md"), "someone else's\n")
        let error = assertSystemError(.fileExists) { try spool.start(a) }
        XCTAssertTrue(error?.description.contains("a.md") ?? false, "the error names the path: \(String(describing: error))")
        XCTAssertEqual(text(layout.queue(.claimed, "a.md")), "mine\n", "the source is still there")
        XCTAssertEqual(text(layout.queue(.running, "a.md")), "someone else's\n", "the target is untouched")
    }

    func testFinishNeverOverwrites() throws {
        try drop("a.md", "mine\n")
        guard let a = try claimed("a.md") else { return }
        try spool.start(a)
        try write(layout.queue(.done, "a.md"), "old done\n")
        try write(layout.queue(.failed, "a.md"), "old failed\n")
        assertSystemError(.fileExists) { try spool.finish(ended(a, .done)) }
        assertSystemError(.fileExists) { try spool.finish(ended(a, .failed)) }
        XCTAssertEqual(text(layout.queue(.running, "a.md")), "mine\n")
        XCTAssertEqual(text(layout.queue(.done, "a.md")), "old done\n")
        XCTAssertEqual(text(layout.queue(.failed, "a.md")), "old failed\n")
    }

    func testRequeueNeverOverwrites() throws {
        try drop("a.md", "mine\n")
        guard let a = try claimed("a.md") else { return }
        try spool.start(a)
        try write(layout.queue(.claimed, "a.md"), "another\n")
        assertSystemError(.fileExists) { try spool.requeue(a) }
        XCTAssertEqual(text(layout.queue(.running, "a.md")), "mine\n")
        XCTAssertEqual(text(layout.queue(.claimed, "a.md")), "another\n")
    }

    func testMovingAMissingFileFailsWithENOENT() {
        let ghost = TaskRecord(id: "ghost", ext: "md", name: "ghost.md", state: .claimed)
        assertSystemError(.noSuchFileOrDirectory) { try spool.start(ghost) }
        assertSystemError(.noSuchFileOrDirectory) { try spool.finish(ended(ghost, .done)) }
        assertSystemError(.noSuchFileOrDirectory) { try spool.requeue(ghost) }
    }

    // MARK: submit

    func makeSource(_ name: String, _ content: String) throws -> String {
        let dir = root + "/outside"
        if !isDirectory(dir) { XCTAssertEqual(mkdir(dir, 0o755), 0) }
        try write(dir + "/" + name, content)
        return dir + "/" + name
    }

    func testSubmitDeliversACopyAndReservesTheId() throws {
        let source = try makeSource("my task.md", "Please do it.\n")
        let id = try spool.submit(source)
        XCTAssertEqual(id, "my-task")
        XCTAssertEqual(text(incoming("my-task.md")), "Please do it.\n")
        XCTAssertEqual(text(source), "Please do it.\n", "the source stays")
        XCTAssertEqual(names(layout.queue(.tmp)), [], "nothing left in tmp/")
        XCTAssertTrue(isDirectory(layout.taskDirectory("my-task")))
        var st = stat()
        XCTAssertEqual(lstat(incoming("my-task.md"), &st), 0)
        XCTAssertEqual(text(layout.submitted("my-task")),
                       "\(st.st_dev):\(st.st_ino):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\nname my-task\n",
                       "the marker names the delivered file (device:inode:mtime) and the task name")
    }

    func testASubmittedCopyKeepsItsTaskNameAndBatch() throws {
        let source = try makeSource("step.md", "Step\n")
        _ = try spool.submit(source)
        let batch = Spool.Batch(size: 2)
        XCTAssertEqual(try spool.submit(source, batch: batch), "step-2")
        guard let record = try claimed("step-2.md") else { return }
        XCTAssertEqual(record.taskName, "step", "others depend on it by the name its file had, not by its id")
        XCTAssertEqual(record.batch, batch.id)
        XCTAssertEqual(record.batchSize, 2)
    }

    func testClaimUsesExactlyTheSubmittedIdAndRemovesTheMarker() throws {
        let id = try spool.submit(try makeSource("job.md", "Job\n"))
        XCTAssertEqual(id, "job")
        let record = try claimed("job.md")
        XCTAssertEqual(record?.id, "job", "the id submit printed, not job-2")
        XCTAssertEqual(text(layout.queue(.claimed, "job.md")), "Job\n")
        XCTAssertFalse(exists(layout.submitted("job")), "the marker is removed at claim")
        XCTAssertTrue(isDirectory(layout.taskDirectory("job")))
        XCTAssertEqual(names(layout.tasks), ["job"])
        XCTAssertNil(suffixes["job"], "a submitted id does not advance the suffix cache")
    }

    func testSubmitOfACollidingNameGetsTheNextId() throws {
        try drop("job.md")
        try claimed("job.md")
        let source = try makeSource("job.md", "second\n")
        XCTAssertEqual(try spool.submit(source), "job-2")
        XCTAssertEqual(try spool.submit(source), "job-3", "a second submit before any claim")
        XCTAssertEqual(names(layout.queue(.incoming)), ["job-2.md", "job-3.md"])
        XCTAssertEqual(try claimed("job-3.md")?.id, "job-3")
        XCTAssertEqual(try claimed("job-2.md")?.id, "job-2")
        XCTAssertEqual(names(layout.tasks), ["job", "job-2", "job-3"])
        XCTAssertFalse(exists(layout.submitted("job-2")))
        XCTAssertFalse(exists(layout.submitted("job-3")))
    }

    func testAReservationIsOnlyForTheFileSubmitDelivered() throws {
        XCTAssertEqual(try spool.submit(try makeSource("job.md", "submitted\n")), "job")
        // Someone moves the delivered file away (it keeps its inode) and drops another job.md.
        XCTAssertEqual(rename(incoming("job.md"), root + "/moved-away.md"), 0)
        try drop("job.md", "impostor\n")
        let record = try claimed("job.md")
        XCTAssertEqual(record?.id, "job-2", "another file must not take the reserved id")
        XCTAssertTrue(exists(layout.submitted("job")), "the reservation stays")
    }

    func testSubmitOfANameWithoutPromptExtensionDeliversMarkdown() throws {
        XCTAssertEqual(try spool.submit(try makeSource("notes", "n\n")), "notes")
        XCTAssertEqual(try spool.submit(try makeSource("data.json", "d\n")), "data")
        XCTAssertEqual(try spool.submit(try makeSource("plan.TXT", "p\n")), "plan")
        XCTAssertEqual(names(layout.queue(.incoming)), ["data.md", "notes.md", "plan.TXT"])
    }

    /// `gadugi submit` accepts a symbolic link to a prompt (it checks `isRegularFile || isSymlink`):
    /// the copy must be of the file the link names.
    func testSubmitOfASymlinkCopiesItsTarget() throws {
        let target = try makeSource("real.md", "through a link\n")
        let link = root + "/outside/link.md"
        XCTAssertEqual(symlink(target, link), 0)
        do {
            let id = try spool.submit(link)
            XCTAssertEqual(text(incoming("\(id).md")), "through a link\n")
        } catch {
            XCTFail("submit of a symlink failed: \(error)")
        }
        XCTAssertEqual(text(target), "through a link\n", "the user's file is untouched")
        XCTAssertEqual(names(layout.queue(.tmp)), [])
    }

    /// The error `submit` throws for `source`, failing the test if it queues it.
    func submitError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Spool.SubmitError? {
        do {
            let id = try spool.submit(source)
            XCTFail("expected \(source) to be refused, got id \(id)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testSubmitRefusesWhatTheCoordinatorWouldRejectWithTheSameReason() throws {
        let cases: [(String, String, Prompt.Rejection)] = [
            ("empty.md", "", .empty),
            ("blank.md", "  \n", .empty),
            ("fm.md", "---\nname: x\nno closing line\n", .badFrontMatter("no closing --- line")),
            ("name.md", "---\nname: " + String(repeating: "n", count: 300) + "\n---\nBody\n",
             .frontMatterValueTooLong(key: "name", bytes: 300, limit: Prompt.Limits.nameBytes)),
        ]
        for (name, content, rejection) in cases {
            let source = try makeSource(name, content)
            XCTAssertEqual(submitError(source), .rejected(rejection), name)
            XCTAssertEqual(submitError(source)?.description, rejection.description, "the .reason text")
            // The coordinator says the same of the same bytes.
            try write(incoming(name), content)
            XCTAssertEqual(try rejected(name)?.1, rejection.description, name)
        }
        XCTAssertEqual(names(layout.queue(.tmp)), [])
        XCTAssertEqual(names(layout.queue(.incoming)), [])
        XCTAssertEqual(names(layout.tasks), [], "no id reserved")
    }

    func testSubmitRefusesBinaryAndOversizedFiles() throws {
        let binary = root + "/bin.md"
        try write(binary, [0x61, 0x00, 0x62])
        XCTAssertEqual(submitError(binary), .rejected(.binary))
        let huge = root + "/huge.md"
        try write(huge, [UInt8](repeating: 0x61, count: Prompt.maxBytes + 10))
        XCTAssertEqual(submitError(huge), .rejected(.tooLarge(Prompt.maxBytes + 10)))
    }

    func testSubmitRefusesADirectoryAndAFifo() throws {
        let dir = root + "/dir.md"
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        XCTAssertEqual(submitError(dir)?.description, "it is a directory, not a prompt file")
        let fifo = root + "/pipe.md"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        guard case .notRegular(let why)? = submitError(fifo) else { return XCTFail("a fifo is not a prompt") }
        XCTAssertTrue(why.contains("not a regular file"), why)
        XCTAssertEqual(names(layout.queue(.incoming)), [])
    }

    func testSubmitAcceptsAByteOrderMarkAndKeepsIt() throws {
        let source = root + "/bom.md"
        let content: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("---\nname: B\n---\nBody\n".utf8)
        try write(source, content)
        let id = try spool.submit(source)
        XCTAssertEqual(bytes(incoming("\(id).md")), content, "the file is never changed")
    }

    func testSubmitOfAMissingSourceFailsAndLeavesNothing() {
        XCTAssertEqual(submitError(root + "/nope.md"), .missing)
        XCTAssertEqual(names(layout.queue(.tmp)), [])
        XCTAssertEqual(names(layout.queue(.incoming)), [])
        XCTAssertEqual(names(layout.tasks), [])
    }

    // MARK: spares

    func testClaimWithSparePoolUsesASpare() throws {
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        XCTAssertEqual(names(layout.spare).count, 2)
        try drop("a.md")
        let record = try claimed("a.md", spares: pool)
        XCTAssertEqual(record?.id, "a")
        XCTAssertEqual(pool.count, 1)
        XCTAssertEqual(names(layout.spare).count, 1)
        XCTAssertEqual(names(layout.taskDirectory("a")), [".heartbeat", "outcome", "output.log"], "the folder is a spare")
    }

    /// A coordinator killed between renaming a spare into `tasks/<id>` and the claim rename leaves a
    /// spare's folder that no prompt names: the next claim of that name takes it over, under the
    /// same id (found by the interleavings test: the prompt came back as `p03-2`). A folder whose
    /// files were written to, or with any other file, is a task's and is never taken.
    func testASparesFolderLeftByACrashBeforeTheClaimIsTakenOverUnderTheSameId() throws {
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        XCTAssertTrue(try pool.take(into: layout.taskDirectory("a")), "the crash's reservation")
        try drop("a.md")
        XCTAssertEqual(try claimed("a.md", spares: pool)?.id, "a")
        XCTAssertEqual(names(layout.queue(.claimed)), ["a.md"])

        XCTAssertTrue(try pool.take(into: layout.taskDirectory("b")))
        try Data("0\n".utf8).write(to: URL(fileURLWithPath: layout.taskDirectory("b") + "/outcome"))
        try drop("b.md")
        XCTAssertEqual(try claimed("b.md", spares: pool)?.id, "b-2", "an outcome was written: not a bare reservation")
    }

    func testClaimWithSparePoolNumbersCollisionsAndFallsBackToMkdir() throws {
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        try drop("a.md")
        try claimed("a.md", spares: pool)
        XCTAssertEqual(pool.count, 1)
        suffixes = [:]   // force a collision on tasks/a while a spare is ready
        try drop("a.md")
        let second = try claimed("a.md", spares: pool)
        XCTAssertEqual(second?.id, "a-2")
        XCTAssertEqual(pool.count, 0, "the collision did not lose the spare; a-2 got it")
        XCTAssertEqual(names(layout.taskDirectory("a-2")), [".heartbeat", "outcome", "output.log"])
        XCTAssertEqual(names(layout.taskDirectory("a")), [".heartbeat", "outcome", "output.log"], "tasks/a untouched")
        try drop("a.md")
        let third = try claimed("a.md", spares: pool)
        XCTAssertEqual(third?.id, "a-3")
        XCTAssertEqual(names(layout.taskDirectory("a-3")), [], "no spare left: a plain mkdir")
    }

    /// The same as testClaimSkipsAnIdWhoseQueueFileExistsAndReleasesItsFolder, with a spare pool:
    /// the folder reserved for the refused id must not stay behind.
    func testClaimWithSparesReleasesTheFolderOfARefusedId() throws {
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        try write(layout.queue(.claimed, "x.md"), "stray\n")
        try drop("x.md", "mine\n")
        XCTAssertEqual(try claimed("x.md", spares: pool)?.id, "x-2")
        XCTAssertEqual(text(layout.queue(.claimed, "x.md")), "stray\n")
        XCTAssertFalse(exists(layout.taskDirectory("x")),
                       "tasks/x was reserved for the refused rename and left behind: \(names(layout.taskDirectory("x")))")
        XCTAssertEqual(pool.count + names(layout.spare).count, 2, "the spare used for x was not lost")
        XCTAssertEqual(names(layout.spare).count, pool.count, "the pool knows every folder in spare/")
    }

    func testClaimOfASubmittedFileDoesNotConsumeASpare() throws {
        let pool = SparePool(layout: layout, target: 1)
        pool.refill(atMost: 1)
        XCTAssertEqual(try spool.submit(try makeSource("job.md", "J\n")), "job")
        let record = try claimed("job.md", spares: pool)
        XCTAssertEqual(record?.id, "job")
        XCTAssertEqual(pool.count, 1, "the spare stays ready")
        XCTAssertEqual(names(layout.spare).count, 1)
        XCTAssertFalse(exists(layout.submitted("job")))
    }

    /// The record as it is when its task has ended in `state`.
    private func ended(_ record: TaskRecord, _ state: TaskState) -> TaskRecord {
        var r = record
        r.state = state
        return r
    }
}
