import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class FilesTests: SpoolTestCase {
    var dir: String { root + "/files" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(mkdir(dir, 0o755), 0)
    }

    // MARK: directories

    func testMakeDirectory() throws {
        XCTAssertTrue(try Files.makeDirectory(dir + "/a"))
        XCTAssertTrue(isDirectory(dir + "/a"))
        XCTAssertFalse(try Files.makeDirectory(dir + "/a"), "something has that name: false, not an error")
        try write(dir + "/file", "x")
        XCTAssertFalse(try Files.makeDirectory(dir + "/file"), "a file has that name")
        assertSystemError(.noSuchFileOrDirectory) { try Files.makeDirectory(dir + "/missing/a") }
        assertSystemError(.notDirectory) { try Files.makeDirectory(dir + "/file/a") }
    }

    func testMakeDirectories() throws {
        try Files.makeDirectories(dir + "/a/b/c")
        XCTAssertTrue(isDirectory(dir + "/a/b/c"))
        try Files.makeDirectories(dir + "/a/b/c")
        try Files.makeDirectories(dir + "/a/b/c/")
        XCTAssertEqual(names(dir + "/a/b/c"), [])
        try write(dir + "/file", "x")
        assertSystemError(.notDirectory) { try Files.makeDirectories(dir + "/file/sub") }
    }

    func testRemoveDirectory() throws {
        XCTAssertEqual(mkdir(dir + "/empty", 0o755), 0)
        try Files.removeDirectory(dir + "/empty")
        XCTAssertFalse(exists(dir + "/empty"))
        try Files.removeDirectory(dir + "/empty")   // nothing there is fine
        XCTAssertEqual(mkdir(dir + "/full", 0o755), 0)
        try write(dir + "/full/f", "x")
        assertSystemError(.directoryNotEmpty) { try Files.removeDirectory(dir + "/full") }
        XCTAssertTrue(exists(dir + "/full/f"))
    }

    // MARK: rename

    func testRenameNoReplaceMoves() throws {
        try write(dir + "/a", "A")
        try Files.renameNoReplace(dir + "/a", dir + "/b")
        XCTAssertFalse(exists(dir + "/a"))
        XCTAssertEqual(text(dir + "/b"), "A")
    }

    func testRenameNoReplaceNeverReplaces() throws {
        try write(dir + "/a", "A")
        try write(dir + "/b", "B")
        let error = assertSystemError(.fileExists) { try Files.renameNoReplace(dir + "/a", dir + "/b") }
        XCTAssertEqual(text(dir + "/a"), "A")
        XCTAssertEqual(text(dir + "/b"), "B")
        XCTAssertTrue(error?.path.contains(dir + "/a") ?? false, "names the source: \(String(describing: error))")
        XCTAssertTrue(error?.operation.contains(dir + "/b") ?? false, "names the target: \(String(describing: error))")
    }

    func testRenameNoReplaceRefusesAnEmptyDirectoryTarget() throws {
        XCTAssertEqual(mkdir(dir + "/d1", 0o755), 0)
        XCTAssertEqual(mkdir(dir + "/d2", 0o755), 0)
        assertSystemError(.fileExists) { try Files.renameNoReplace(dir + "/d1", dir + "/d2") }
        XCTAssertTrue(isDirectory(dir + "/d1"))
    }

    func testRenameOfAMissingSource() {
        assertSystemError(.noSuchFileOrDirectory) { try Files.renameNoReplace(dir + "/nope", dir + "/b") }
    }

    // MARK: status

    func testLinkStatus() throws {
        try write(dir + "/f", "12345")
        XCTAssertEqual(symlink(dir + "/f", dir + "/link"), 0)
        XCTAssertEqual(mkdir(dir + "/d", 0o755), 0)
        let f = try Files.linkStatus(dir + "/f")
        XCTAssertEqual(f?.isRegularFile, true)
        XCTAssertEqual(f?.st_size, 5)
        XCTAssertEqual(try Files.linkStatus(dir + "/link")?.isSymlink, true, "the link itself, not its target")
        XCTAssertEqual(try Files.linkStatus(dir + "/d")?.isDirectory, true)
        XCTAssertNil(try Files.linkStatus(dir + "/missing"))
        XCTAssertNil(try Files.linkStatus(dir + "/f/below-a-file"), "ENOTDIR is 'nothing there' too")
    }

    func testIsDirectoryAndExists() throws {
        XCTAssertEqual(mkdir(dir + "/d", 0o755), 0)
        XCTAssertEqual(symlink(dir + "/d", dir + "/link-to-d"), 0)
        XCTAssertTrue(try Files.isDirectory(dir + "/d"))
        XCTAssertFalse(try Files.isDirectory(dir + "/link-to-d"), "a link to a directory is not one")
        XCTAssertFalse(try Files.isDirectory(dir + "/missing"))
        XCTAssertTrue(Files.exists(dir + "/d"))
        XCTAssertFalse(Files.exists(dir + "/missing"))
    }

    func testModifiedTime() throws {
        try write(dir + "/f", "x")
        setMtime(dir + "/f", seconds: 1_700_000_000)
        XCTAssertEqual(try Files.linkStatus(dir + "/f")?.modified, Timestamp(seconds: 1_700_000_000, nanoseconds: 0))
    }

    // MARK: open and read

    func testOpenIsCloseOnExec() throws {
        try write(dir + "/f", "x")
        let fd = try Files.open(dir + "/f", O_RDONLY)
        defer { close(fd) }
        XCTAssertNotEqual(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0)
    }

    func testOpenFailureNamesThePath() {
        let error = assertSystemError(.noSuchFileOrDirectory) { _ = try Files.open(dir + "/missing", O_RDONLY) }
        XCTAssertEqual(error?.operation, "open")
        XCTAssertEqual(error?.path, dir + "/missing")
        XCTAssertTrue(error?.description.hasPrefix("open \(dir)/missing: ") ?? false, String(describing: error))
    }

    func testRead() throws {
        let content = (0..<40_000).map { UInt8($0 % 251) }
        try write(dir + "/f", content)
        XCTAssertEqual(try Files.read(dir + "/f"), content, "more than one read chunk")
        XCTAssertEqual(try Files.read(dir + "/f", limit: 40_000), content, "exactly the limit is fine")
        assertSystemError(.fileTooLarge) { _ = try Files.read(dir + "/f", limit: 39_999) }
        try write(dir + "/empty", "")
        XCTAssertEqual(try Files.read(dir + "/empty"), [])
    }

    func testReadNeverFollowsALink() throws {
        try write(dir + "/f", "secret")
        XCTAssertEqual(symlink(dir + "/f", dir + "/link"), 0)
        assertSystemError(.tooManySymbolicLinkLevels) { _ = try Files.read(dir + "/link") }
        XCTAssertEqual(try Files.read(dir + "/link", followLinks: true), Array("secret".utf8), "unless asked to")
    }

    func testReadWithStatus() throws {
        try write(dir + "/f", "hello")
        let (bytes, st) = try Files.readWithStatus(dir + "/f", limit: 64)
        XCTAssertEqual(bytes, Array("hello".utf8))
        XCTAssertEqual(st.st_size, 5)
        XCTAssertTrue(st.isRegularFile)
    }

    func testReadText() throws {
        XCTAssertNil(try Files.readText(dir + "/missing"), "missing is nil, not an error")
        try write(dir + "/f", "héllo\n")
        XCTAssertEqual(try Files.readText(dir + "/f"), "héllo\n")
        assertSystemError(.isDirectory) { _ = try Files.readText(dir) }
    }

    // MARK: write

    func testWriteAtomicallyCreatesAndReplaces() throws {
        let path = dir + "/state.json"
        try Files.writeAtomically(path, Array("one".utf8))
        XCTAssertEqual(text(path), "one")
        try Files.writeAtomically(path, Array("two, longer".utf8), sync: true)
        XCTAssertEqual(text(path), "two, longer")
        try Files.writeAtomically(path, [])
        XCTAssertEqual(text(path), "")
        XCTAssertEqual(names(dir), ["state.json"], "no temporary file left")
    }

    func testWriteAtomicallyReplacesALinkInsteadOfWritingThroughIt() throws {
        try write(dir + "/target", "keep me")
        XCTAssertEqual(symlink(dir + "/target", dir + "/report.json"), 0)
        try Files.writeAtomically(dir + "/report.json", Array("new".utf8))
        XCTAssertEqual(text(dir + "/target"), "keep me")
        XCTAssertEqual(try Files.linkStatus(dir + "/report.json")?.isRegularFile, true)
        XCTAssertEqual(text(dir + "/report.json"), "new")
    }

    func testWriteAtomicallyIntoAMissingDirectoryFails() {
        assertSystemError(.noSuchFileOrDirectory) { try Files.writeAtomically(dir + "/missing/f", [1]) }
        XCTAssertEqual(names(dir), [])
    }

    func testWriteAtomicallyOverADirectoryFailsAndCleansUp() throws {
        XCTAssertEqual(mkdir(dir + "/d", 0o755), 0)
        try write(dir + "/d/inside", "x")
        assertSystemError(.isDirectory) { try Files.writeAtomically(dir + "/d", [1]) }
        XCTAssertEqual(names(dir), ["d"], "the temporary file was removed")
        XCTAssertEqual(text(dir + "/d/inside"), "x")
    }

    func testTemporaryNameIsAHiddenSibling() {
        XCTAssertEqual(Files.temporaryName(for: "/a/b/progress.json"), "/a/b/.progress.json.tmp.\(getpid())")
        XCTAssertFalse(PromptName.isCandidate(Files.split(Files.temporaryName(for: "/q/x.md")).1), "spool readers skip it")
    }

    func testAppend() throws {
        let path = dir + "/events.jsonl"
        try Files.append(path, Array("one\n".utf8))
        try Files.append(path, Array("two\n".utf8))
        XCTAssertEqual(text(path), "one\ntwo\n")
    }

    func testTouch() throws {
        let path = dir + "/beat"
        try Files.touch(path)
        XCTAssertEqual(text(path), "")
        try write(path, "content")
        setMtime(path, seconds: 1_000_000_000)
        try Files.touch(path)
        XCTAssertGreaterThan(mtime(path)?.seconds ?? 0, 1_000_000_000)
        XCTAssertEqual(text(path), "content", "touch does not truncate")
        assertSystemError(.noSuchFileOrDirectory) { try Files.touch(dir + "/missing/beat") }
    }

    func testCreate() throws {
        let path = dir + "/heartbeat"
        try Files.create(path)
        XCTAssertEqual(text(path), "")
        try write(path, "old content")
        try Files.create(path)
        XCTAssertEqual(text(path), "", "an existing file is truncated")
        assertSystemError(.noSuchFileOrDirectory) { try Files.create(dir + "/missing/f") }
    }

    func testIsOpenForWriting() throws {
        let path = dir + "/prompt.md"
        try write(path, "x")
        XCTAssertNil(Files.isOpenForWriting(dir + "/missing"))
        guard let open = Files.isOpenForWriting(path) else { throw XCTSkip("leases are not available here") }
        XCTAssertFalse(open, "nobody has the file open")
        // A real other process reading the file does not make it "being written"...
        guard let reader = spawnProcess(["/bin/sh", "-c", "exec 3<\"$0\"; : > \"$0.reading\"; exec sleep 30", path]) else {
            return XCTFail("cannot start /bin/sh")
        }
        XCTAssertTrue(eventually { exists(path + ".reading") })
        XCTAssertEqual(Files.isOpenForWriting(path), false, "a reader is no writer")
        kill(reader, SIGKILL)
        XCTAssertEqual(describeWaitStatus(waitForChild(reader)), "killed by signal 9")
        // ...one that holds it open for writing does.
        guard let writer = spawnProcess(["/bin/sh", "-c", "exec 3>>\"$0\"; : > \"$0.writing\"; exec sleep 30", path]) else {
            return XCTFail("cannot start /bin/sh")
        }
        XCTAssertTrue(eventually { exists(path + ".writing") })
        XCTAssertEqual(Files.isOpenForWriting(path), true)
        kill(writer, SIGKILL)
        XCTAssertEqual(describeWaitStatus(waitForChild(writer)), "killed by signal 9")
        XCTAssertEqual(Files.isOpenForWriting(path), false, "closed again when the process ended")
    }

    func testRemove() throws {
        try write(dir + "/f", "x")
        try Files.remove(dir + "/f")
        XCTAssertFalse(exists(dir + "/f"))
        try Files.remove(dir + "/f")   // nothing there is fine
        XCTAssertEqual(mkdir(dir + "/d", 0o755), 0)
        assertSystemError(.isDirectory) { try Files.remove(dir + "/d") }
    }

    // MARK: listing

    func testListAndCount() throws {
        for name in ["b", "a", ".hidden", "c.reason"] { try write(dir + "/" + name, "") }
        XCTAssertEqual(try Files.list(dir).sorted(), [".hidden", "a", "b", "c.reason"], "without . and ..")
        XCTAssertEqual(Files.count(dir), 3, "dotfiles are not counted")
        XCTAssertEqual(Files.count(dir) { !$0.hasSuffix(".reason") }, 3)
        XCTAssertEqual(Files.count(dir + "/missing"), 0)
        assertSystemError(.noSuchFileOrDirectory) { _ = try Files.list(dir + "/missing") }
    }

    func testListLongNames() throws {
        let long = String(repeating: "n", count: 255)
        try write(dir + "/" + long, "")
        XCTAssertEqual(try Files.list(dir), [long])
    }

    func testSplit() {
        XCTAssertEqual(Files.split("/a/b/c.md").0, "/a/b")
        XCTAssertEqual(Files.split("/a/b/c.md").1, "c.md")
        XCTAssertEqual(Files.split("/c.md").0, "/")
        XCTAssertEqual(Files.split("/c.md").1, "c.md")
        XCTAssertEqual(Files.split("c.md").0, ".")
        XCTAssertEqual(Files.split("c.md").1, "c.md")
    }

    func testFsyncDirectory() throws {
        try Files.fsyncDirectory(dir)
        assertSystemError(.noSuchFileOrDirectory) { try Files.fsyncDirectory(dir + "/missing") }
    }

    func testSystemErrorDescription() {
        let e = SystemError("rename", "/x/y", .fileExists)
        XCTAssertEqual(e.description, "rename /x/y: \(Errno.fileExists.description)")
        XCTAssertEqual(e, SystemError("rename", "/x/y", .fileExists))
        XCTAssertNotEqual(e, SystemError("rename", "/x/y", .noSuchFileOrDirectory))
    }
}
