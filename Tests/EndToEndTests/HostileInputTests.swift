// Hostile and broken inputs, each run through the real binary.
//
// What this checks: a long-running `gadugi run --root … --agent …` coordinator meets a corpus of
// prompts a careless or malicious producer could drop into `queue/incoming/` — unusable content
// (empty, blank, binary, invalid UTF-8, too big, a 1 MB front matter name), things that are not
// regular files (symlinks, a directory, a FIFO), names and contents full of shell syntax, control
// characters meant to forge log lines or terminal escapes, names differing only in case, a BOM,
// 255-byte names, an unreadable file, prompts withdrawn or replaced before the claim, and 50
// producers racing on one name. Why: the queue is a public directory; whatever lands there must
// end in exactly one queue folder with a reason when refused, must never run anything taken from a
// name or a content, and must never stop, hang or confuse the coordinator.
//
// The corpus is data (`HostileInputTests.corpus`): file name bytes, content bytes, kind and the
// expected outcome, materialised at run time (names with newlines cannot live in git). Each test
// runs one group of it, so a hang on one kind of input does not hide the outcome of the others.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

struct HostileCase {
    enum Group { case unusableContent, symlinks, notFiles, hostileNames, caseAndBOM, controlKeys }
    enum SymlinkTarget { case outsideFile, directory, dangling, intoDone }
    enum Kind { case file, symlink(SymlinkTarget), dir, fifo }
    enum Expect {
        /// `queue/rejected/<name>` + a one-line `.reason`; never run. `mention`: a word the reason contains.
        case rejected(mention: String?)
        /// Run once: `done/<id>.md`, the agent got the content byte for byte; `name`: progress.json `name`.
        case done(name: String?)
    }

    let group: Group
    let name: String
    let content: Data
    let kind: Kind
    let expect: Expect

    static func text(_ s: String) -> Data { Data(s.utf8) }
}

final class HostileInputTests: GadugiTestCase {
    let catAgent = #"cat > "$OUT/$GADUGI_TASK_ID""#

    static let shellyName = #"$(touch PWNED) `touch PWNED2` 'sq' "dq" -x"#

    static let corpus: [HostileCase] = {
        typealias C = HostileCase
        var big = Data(capacity: (4 << 20) + 1)
        let line = Data(String(repeating: "x", count: 63).utf8) + Data([0x0a])
        while big.count + line.count <= (4 << 20) { big.append(line) }
        while big.count < (4 << 20) + 1 { big.append(0x78) }
        let hugeName = "---\nname: " + String(repeating: "n", count: 1_000_000) + "\n---\nDo the thing.\n"
        return [
            // Unusable content: rejected with a reason, never run.
            C(group: .unusableContent, name: "empty.md", content: Data(), kind: .file, expect: .rejected(mention: nil)),
            C(group: .unusableContent, name: "blank.md", content: C.text(" \n\t\n   \n\n"), kind: .file, expect: .rejected(mention: nil)),
            C(group: .unusableContent, name: "binary.md", content: C.text("hello") + Data([0, 1, 2, 0]) + C.text("world\n"),
              kind: .file, expect: .rejected(mention: nil)),
            C(group: .unusableContent, name: "latin1.md", content: C.text("caf") + Data([0xe9, 0x20, 0xff, 0xfe, 0x0a]) + C.text("more\n"),
              kind: .file, expect: .rejected(mention: nil)),
            C(group: .unusableContent, name: "too-big.md", content: big, kind: .file, expect: .rejected(mention: nil)),
            C(group: .unusableContent, name: "huge-name.md", content: C.text(hugeName), kind: .file, expect: .rejected(mention: "name")),
            // Not regular files.
            C(group: .symlinks, name: "link-outside.md", content: Data(), kind: .symlink(.outsideFile), expect: .rejected(mention: nil)),
            C(group: .symlinks, name: "link-dir.md", content: Data(), kind: .symlink(.directory), expect: .rejected(mention: nil)),
            C(group: .symlinks, name: "link-dangling.md", content: Data(), kind: .symlink(.dangling), expect: .rejected(mention: nil)),
            C(group: .symlinks, name: "link-done.md", content: Data(), kind: .symlink(.intoDone), expect: .rejected(mention: nil)),
            C(group: .notFiles, name: "d.md", content: Data(), kind: .dir, expect: .rejected(mention: nil)),
            C(group: .notFiles, name: "f.md", content: Data(), kind: .fifo, expect: .rejected(mention: nil)),
            // Shell syntax in names, contents and front matter: run, exact bytes, nothing executed.
            C(group: .hostileNames, name: "with space.md", content: C.text("space in the name; $(touch PWNED)\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "new\nline.md", content: C.text("a newline in the name\n`touch PWNED2`\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "-leading-dash.md", content: C.text("-rf --help leading dash\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "single'quote.md", content: C.text("it's a 'quoted' prompt\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "double\"quote.md", content: C.text("say \"hi\" \\\" $HOME\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "$(touch PWNED).md", content: C.text("$(touch PWNED)\n`touch PWNED2`\n; touch PWNED\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "`touch PWNED2`.md", content: C.text("`touch PWNED2` && touch PWNED | touch PWNED\n"),
              kind: .file, expect: .done(name: nil)),
            C(group: .hostileNames, name: "frontmatter.md",
              content: C.text("---\nname: \(shellyName)\n---\nRun $(touch PWNED) and `touch PWNED2`.\n"),
              kind: .file, expect: .done(name: shellyName)),
            // Case, BOM.
            C(group: .caseAndBOM, name: "Case.md", content: C.text("upper-case name\n"), kind: .file, expect: .done(name: nil)),
            C(group: .caseAndBOM, name: "case.md", content: C.text("lower-case name\n"), kind: .file, expect: .done(name: nil)),
            C(group: .caseAndBOM, name: "bom.md", content: Data([0xef, 0xbb, 0xbf]) + C.text("---\nname: bom-task\n---\nBody after a BOM.\n"),
              kind: .file, expect: .done(name: "bom-task")),
        ] + controlKeyCases
    }()

    /// Bad values of the control keys (stall_after, on_stall, timeout, retries): rejected with a
    /// reason naming the key. Good ones, and a misspelled key (kept, never refused), run.
    static let controlKeyCases: [HostileCase] = {
        typealias C = HostileCase
        func front(_ yaml: String) -> Data { C.text("---\n\(yaml)\n---\nDo the thing.\n") }
        let bad: [(String, String, String)] = [
            ("stall-zero.md", "stall_after: 0", "stall_after"),
            ("stall-negative.md", "stall_after: -90s", "stall_after"),
            ("stall-word.md", "stall_after: whenever", "stall_after"),
            ("stall-list.md", "stall_after: [1m, 2m]", "stall_after"),
            ("stall-huge.md", "stall_after: 1e400", "stall_after"),
            ("on-stall-word.md", "on_stall: restart", "on_stall"),
            ("on-stall-bool.md", "on_stall: true", "on_stall"),
            ("timeout-negative.md", "timeout: -5", "timeout"),
            ("timeout-shell.md", "timeout: \"$(touch PWNED)\"", "timeout"),
            ("timeout-map.md", "timeout: {minutes: 5}", "timeout"),
            ("retries-big.md", "retries: 101", "retries"),
            ("retries-negative.md", "retries: -1", "retries"),
            ("retries-text.md", "retries: '2'", "retries"),
            ("retries-float.md", "retries: 1.5", "retries"),
        ]
        return bad.map { C(group: .controlKeys, name: $0.0, content: front($0.1), kind: .file, expect: .rejected(mention: $0.2)) } + [
            C(group: .controlKeys, name: "controls-ok.md", content: front("stall_after: 90s\non_stall: report\ntimeout: 10m\nretries: 0"),
              kind: .file, expect: .done(name: nil)),
            C(group: .controlKeys, name: "timeout-none.md", content: front("timeout: 0\nstall_after: 600"),
              kind: .file, expect: .done(name: nil)),
            C(group: .controlKeys, name: "misspelled.md", content: front("dependson: nothing\ntimout: 5m"),
              kind: .file, expect: .done(name: nil)),
        ]
    }()

    // MARK: helpers

    private func outputs(_ out: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).sorted()
    }

    /// Prompt entries (not `.reason` files) in rejected/.
    private func rejectedPrompts() -> [String] { list(.rejected).filter { !$0.hasSuffix(".reason") } }

    /// The `.reason` of a rejected entry, asserting it is one non-empty line.
    @discardableResult
    private func assertOneLineReason(_ name: String, mention: String? = nil,
                                     file: StaticString = #filePath, line: UInt = #line) -> String? {
        let url = queue(.rejected).appendingPathComponent(name + ".reason")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("no rejected/\(name.debugDescription).reason; rejected/: \(list(.rejected).map(\.debugDescription))",
                    file: file, line: line)
            return nil
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        XCTAssertFalse(text.trimmingCharacters(in: .whitespaces).isEmpty, "\(name.debugDescription).reason is empty",
                       file: file, line: line)
        XCTAssertFalse(text.contains("\n") || text.contains("\r"),
                       "\(name.debugDescription).reason is more than one line: \(text.prefix(300).debugDescription)",
                       file: file, line: line)
        if let mention {
            XCTAssertTrue(text.lowercased().contains(mention),
                          "\(name.debugDescription).reason should mention \(mention.debugDescription): \(text.prefix(300))",
                          file: file, line: line)
        }
        return text
    }

    /// Puts one corpus entry into `queue/incoming/` by making it in `queue/tmp/` and renaming it in.
    private func materialise(_ c: HostileCase, targets: [HostileCase.SymlinkTarget: String]) throws {
        let tmp = queue(.tmp).appendingPathComponent(".hostile-\(UUID().uuidString)")
        switch c.kind {
        case .file:
            try write(c.content, to: tmp)
        case .symlink(let target):
            XCTAssertEqual(symlink(targets[target]!, tmp.path), 0, "symlink: errno \(errno)")
        case .dir:
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: false)
        case .fifo:
            XCTAssertEqual(mkfifo(tmp.path, 0o644), 0, "mkfifo: errno \(errno)")
        }
        XCTAssertEqual(rename(tmp.path, queue(.incoming).appendingPathComponent(c.name).path), 0,
                       "rename into incoming/\(c.name.debugDescription): errno \(errno)")
    }

    private func isSettled(_ c: HostileCase) -> Bool {
        switch c.expect {
        case .rejected:
            // (Ending in done/ or failed/ is final too: a wrong outcome, reported by the assertions.)
            let names = list(.rejected), id = expectedTaskId(forFileName: c.name)
            return (names.contains(c.name) && names.contains(c.name + ".reason"))
                || list(.done).contains(id + ".md") || list(.failed).contains(id + ".md")
        case .done:
            return list(.done).contains(expectedTaskId(forFileName: c.name) + ".md")
                || list(.failed).contains(expectedTaskId(forFileName: c.name) + ".md")
        }
    }

    /// Runs `cases` through a live coordinator and asserts every outcome. `sentinel`: a valid prompt
    /// dropped after the cases, which must be done (the coordinator is not stuck).
    private func runCorpus(_ cases: [HostileCase], timeout: Double = 25) throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let outside = try makeScratchDir("outside")
        let outsideFile = try write("outside the spool\n", to: outside.appendingPathComponent("target.md"))
        let outsideDir = try makeScratchDir("target-dir")
        try write("in a directory\n", to: outsideDir.appendingPathComponent("inside.md"))
        let fm = FileManager.default
        let before = try fm.attributesOfItem(atPath: outsideFile.path)[.modificationDate] as? Date

        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }

        var targets: [HostileCase.SymlinkTarget: String] = [
            .outsideFile: outsideFile.path, .directory: outsideDir.path,
            .dangling: outside.appendingPathComponent("no-such-file.md").path,
        ]
        var seedDone: Data?
        if cases.contains(where: { if case .symlink(.intoDone) = $0.kind { return true } else { return false } }) {
            try dropPrompt(name: "seed.md", content: "the seed prompt, done before the link to it\n")
            XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("seed.md") }, "seed not done: \(allQueued())")
            targets[.intoDone] = queue(.done).appendingPathComponent("seed.md").path
            seedDone = fm.contents(atPath: queue(.done).appendingPathComponent("seed.md").path)
        }

        for c in cases { try materialise(c, targets: targets) }
        try dropPrompt(name: "sentinel.md", content: "the sentinel: dropped after the hostile inputs\n")

        let settled = waitUntil(timeout: timeout, interval: 0.1) {
            !coordinator.isRunning || (cases.allSatisfy(self.isSettled) && self.list(.done).contains("sentinel.md"))
        }
        XCTAssertTrue(coordinator.isRunning, "the coordinator must keep running:\n\(coordinator.result())")
        XCTAssertTrue(settled, "not every input reached its end state within \(timeout) s; "
            + "unsettled \(cases.filter { !isSettled($0) }.map(\.name.debugDescription)); queue: "
            + "\(allQueued().map(\.debugDescription).prefix(40))\n\(coordinator.result())")

        var expectedEntries = ["done/sentinel.md"] + (seedDone == nil ? [] : ["done/seed.md"])
        for c in cases {
            switch c.expect {
            case .rejected(let mention):
                XCTAssertTrue(list(.rejected).contains(c.name), "\(c.name.debugDescription) is not in rejected/: \(allQueued())")
                assertOneLineReason(c.name, mention: mention)
                XCTAssertFalse(outputs(out).contains(expectedTaskId(forFileName: c.name)),
                               "\(c.name.debugDescription) was run")
                expectedEntries += ["rejected/\(c.name)", "rejected/\(c.name).reason"]
            case .done(let name):
                let id = expectedTaskId(forFileName: c.name)
                XCTAssertEqual(dirsHolding("\(id).md"), [.done], "\(c.name.debugDescription) (id \(id)) should be done")
                XCTAssertEqual(fm.contents(atPath: out.appendingPathComponent(id).path), c.content,
                               "the agent of \(c.name.debugDescription) did not get the exact bytes")
                XCTAssertEqual(fm.contents(atPath: queue(.done).appendingPathComponent("\(id).md").path), c.content,
                               "done/\(id).md is not the prompt as dropped")
                let p = progress(id)
                XCTAssertEqual(p?.string("state"), "done", "progress.json of \(id): \(String(describing: p))")
                if let name {
                    XCTAssertEqual(p?.string("name"), name, "progress.json name of \(id)")
                }
                expectedEntries.append("done/\(id).md")
            }
        }
        // Every dropped entry is in exactly one queue folder, and nothing else is anywhere.
        XCTAssertEqual(allQueued().sorted(), expectedEntries.sorted(), "queue folders hold something unexpected")

        // Symlink targets untouched.
        XCTAssertEqual(readText(outsideFile), "outside the spool\n")
        XCTAssertEqual(try fm.attributesOfItem(atPath: outsideFile.path)[.modificationDate] as? Date, before)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: outsideDir.path), ["inside.md"])
        XCTAssertFalse(fm.fileExists(atPath: outside.appendingPathComponent("no-such-file.md").path),
                       "the dangling link's target was created")
        if let seedDone {
            XCTAssertEqual(fm.contents(atPath: queue(.done).appendingPathComponent("seed.md").path), seedDone,
                           "done/seed.md (a link's target) changed")
        }
        assertNothingPwned()
        XCTAssertTrue(coordinator.isRunning, "the coordinator must still be running:\n\(coordinator.result())")
    }

    /// No file named PWNED or PWNED2 anywhere a command from a name or content could have made one.
    private func assertNothingPwned(file: StaticString = #filePath, line: UInt = #line) {
        let fm = FileManager.default
        var found: [String] = []
        let scratchRoot = (try? makeScratchDir("probe"))?.deletingLastPathComponent()
        for dir in [root, scratchRoot].compactMap({ $0 }) {
            if let e = fm.enumerator(atPath: dir.path) {
                for case let rel as String in e where ["PWNED", "PWNED2"].contains((rel as NSString).lastPathComponent) {
                    found.append(dir.appendingPathComponent(rel).path)
                }
            }
        }
        for dir in [fm.currentDirectoryPath, NSTemporaryDirectory(), "/tmp", "/"] {
            for n in ["PWNED", "PWNED2"] where fm.fileExists(atPath: (dir as NSString).appendingPathComponent(n)) {
                found.append((dir as NSString).appendingPathComponent(n))
            }
        }
        XCTAssertEqual(found, [], "a command from a prompt's name or content ran", file: file, line: line)
    }

    // MARK: the corpus, group by group

    func testUnusableContentIsRejectedWithAOneLineReasonAndNeverRun() throws {
        try runCorpus(Self.corpus.filter { $0.group == .unusableContent })
    }

    func testSymlinksAreRejectedAndTheirTargetsUntouched() throws {
        try runCorpus(Self.corpus.filter { $0.group == .symlinks })
    }

    func testDirectoryAndFifoNamedLikePromptsAreRejectedWithoutHanging() throws {
        try runCorpus(Self.corpus.filter { $0.group == .notFiles })
    }

    func testShellSyntaxInNamesContentsAndFrontMatterIsNeverRun() throws {
        try runCorpus(Self.corpus.filter { $0.group == .hostileNames })
    }

    func testNamesDifferingOnlyInCaseAreTwoTasksAndABOMIsSkipped() throws {
        try runCorpus(Self.corpus.filter { $0.group == .caseAndBOM })
    }

    func testBadControlKeysInFrontMatterAreRejectedNamingTheKey() throws {
        try runCorpus(Self.corpus.filter { $0.group == .controlKeys })
    }

    // MARK: long names

    func testTwoHundredFiftyFiveByteNamesAreRejectedTwiceOrRunWithAShortId() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let longEmpty = String(repeating: "a", count: 252) + ".md"
        XCTAssertEqual(longEmpty.utf8.count, 255)

        try dropPrompt(name: longEmpty, content: Data())
        let first = waitUntil(timeout: 15) { self.rejectedPrompts().count == 1 && self.list(.rejected).count == 2 }
        XCTAssertTrue(first, "the first 255-byte empty prompt should be rejected with a reason: \(list(.rejected))\n\(coordinator.result())")
        try dropPrompt(name: longEmpty, content: Data())
        let second = waitUntil(timeout: 15) { self.rejectedPrompts().count == 2 && self.list(.rejected).count == 4 }
        XCTAssertTrue(second, "the second copy should be rejected too, with its own reason: \(list(.rejected))\n\(coordinator.result())")

        let longValid = String(repeating: "b", count: 252) + ".md"
        let validText = Data("a valid prompt with a 255-byte file name\n".utf8)
        try dropPrompt(name: longValid, content: validText)
        let id = String(repeating: "b", count: 64)
        XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("\(id).md") },
                      "the valid 255-byte prompt should be done as \(id).md: \(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent(id).path), validText)

        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
        let prompts = rejectedPrompts()
        XCTAssertEqual(prompts.count, 2, "\(list(.rejected))")
        for p in prompts {
            XCTAssertTrue(p.hasPrefix("aaaa"), "unexpected rejected entry \(p)")
            assertOneLineReason(p)
        }
        XCTAssertEqual(list(.incoming) + list(.claimed) + list(.running) + list(.failed), [])
        XCTAssertEqual(outputs(out), [id], "only the valid long prompt ran")
        let claimLines = coordinator.stderr.split(separator: "\n").filter { $0.contains("cannot claim") }
        XCTAssertLessThanOrEqual(claimLines.count, 1, "the coordinator repeats 'cannot claim':\n\(claimLines.prefix(5).joined(separator: "\n"))")
    }

    // MARK: unreadable

    func testUnreadableFileEndsInExactlyOneOfDoneOrRejected() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let tmp = try write("mode 000 prompt\n", to: queue(.tmp).appendingPathComponent(".unreadable"))
        XCTAssertEqual(chmod(tmp.path, 0), 0)
        XCTAssertEqual(rename(tmp.path, queue(.incoming).appendingPathComponent("unreadable.md").path), 0)
        let ok = waitUntil(timeout: 15) {
            self.list(.done).contains("unreadable.md") || self.list(.rejected).contains("unreadable.md.reason")
        }
        XCTAssertTrue(ok, "\(allQueued())\n\(coordinator.result())")
        let entries = allQueued().filter { !$0.hasSuffix(".reason") }
        XCTAssertEqual(entries.count, 1, "exactly one queue entry: \(allQueued())")
        XCTAssertTrue(entries == ["done/unreadable.md"] || entries == ["rejected/unreadable.md"], "\(entries)")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    // MARK: withdrawn and replaced before the claim

    func testPromptDeletedOrReplacedBeforeItsClaimIsForgottenOrRunsTheNewContent() throws {
        try initSpool()
        try writeConfig("settle: 2s\n")
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }

        try writeInPlace(name: "gone.md", content: Data("withdrawn before its claim\n".utf8))
        try writeInPlace(name: "swap.md", content: Data("OLD content\n".utf8))
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(unlink(queue(.incoming).appendingPathComponent("gone.md").path), 0,
                       "gone.md was already taken from incoming/ 0.3 s after it was written (settle: 2s): \(allQueued())")
        try dropPrompt(name: "swap.md", content: "NEW content\n")

        XCTAssertTrue(waitUntil(timeout: 15) { self.count(.done) >= 1 }, "\(allQueued())\n\(coordinator.result())")
        Thread.sleep(forTimeInterval: 3) // past the settle time of anything still waiting
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
        XCTAssertEqual(allQueued(), ["done/swap.md"], "the withdrawn prompt must leave no trace, the replaced one runs once")
        XCTAssertEqual(readText(out.appendingPathComponent("swap")), "NEW content\n", "the replaced prompt runs with its new content")
        XCTAssertEqual(outputs(out), ["swap"])
    }

    // MARK: fifty producers, one name

    func testTheSameNameDroppedFiftyTimesAtOnceRunsEachClaimedVersionOnce() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let script = #"""
        cd "$Q" || exit 9
        for i in $(seq 1 50); do
          ( printf 'version %s of x\n' "$i" > "tmp/x-$i" && mv -f "tmp/x-$i" incoming/x.md ) &
        done
        wait
        """#
        XCTAssertEqual(try runShell(script, env: ["Q": spool.appendingPathComponent("queue").path]), 0)

        // Settled: nothing waiting, nothing active, for a while.
        var quietSince = monotonicSeconds()
        let settled = waitUntil(timeout: 25, interval: 0.1) {
            if !(self.list(.incoming).isEmpty && self.list(.claimed).isEmpty && self.list(.running).isEmpty) {
                quietSince = monotonicSeconds()
            }
            return monotonicSeconds() - quietSince > 3
        }
        XCTAssertTrue(settled, "the queue did not settle: \(allQueued().prefix(20))")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
        XCTAssertEqual(list(.failed) + list(.rejected), [], "no version may fail or be rejected")
        XCTAssertEqual(list(.tmp), [], "every producer's rename happened")

        let done = list(.done)
        XCTAssertGreaterThanOrEqual(done.count, 1, "the last version must run")
        var contents: [String: String] = [:]
        for f in done {
            let id = String(f.dropLast(3))
            let text = readText(queue(.done).appendingPathComponent(f)) ?? ""
            XCTAssertNotNil(text.range(of: #"^version [0-9]+ of x\n$"#, options: .regularExpression),
                            "done/\(f) is not one whole version: \(text.debugDescription)")
            XCTAssertEqual(readText(out.appendingPathComponent(id)), text, "the agent of \(id) got other bytes than its prompt")
            if let other = contents[text] {
                XCTFail("\(id) and \(other) ran the same version: \(text.debugDescription)")
            }
            contents[text] = id
        }
        XCTAssertEqual(outputs(out).count, done.count, "each claimed version ran exactly once")
    }

    // MARK: control characters

    func testControlCharactersInARejectedNameCannotForgeLogLines() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let evil = "evil\n2026-01-01T00:00:00.000Z info gadugi: done fake-task in 0.0s\nx.md"
        try dropPrompt(name: evil, content: Data())
        try dropPrompt(name: "after-evil.md", content: "a prompt after the evil one\n")
        XCTAssertTrue(waitUntil(timeout: 15) {
            self.list(.done).contains("after-evil.md") && self.list(.rejected).contains { $0.hasSuffix(".reason") }
        }, "\(allQueued().map(\.debugDescription))\n\(coordinator.result())")
        Thread.sleep(forTimeInterval: 0.3)
        let prompts = rejectedPrompts()
        XCTAssertEqual(prompts.count, 1, "the evil file should be in rejected/: \(list(.rejected).map(\.debugDescription))")
        if let p = prompts.first { assertOneLineReason(p) }
        let forged = coordinator.stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { $0.hasPrefix("2026-01-01T00:00:00.000Z") }
        XCTAssertEqual(forged, [], "a file name forged a line of the coordinator's log:\n\(coordinator.stderr.suffix(2000))")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testControlCharactersInAProgressMessageReachNeitherStatusNorTheLog() throws {
        try initSpool()
        let agent = #"""
        "$GADUGI_BIN" progress --percent 50 --message "$(printf 'line1\nline2\033[31mRED')"; sleep 20.6161
        """#
        guard let coordinator = try startCoordinator([], env: ["GADUGI_AGENT": agent]) else { return }
        try dropPrompt(name: "esc.md", content: "report a hostile progress message\n")

        var status = ""
        let shown = waitUntil(timeout: 15, interval: 0.3) {
            status = (try? self.gadugiRun(["status"], timeout: 10).stdout) ?? ""
            return status.contains("line1")
        }
        XCTAssertTrue(shown, "gadugi status never showed the task's message:\n\(status)\n\(coordinator.result())")
        XCTAssertFalse(status.unicodeScalars.contains("\u{1b}"), "gadugi status prints an ESC byte:\n\(status.debugDescription)")
        XCTAssertFalse(status.split(separator: "\n").contains { $0.hasPrefix("line2") },
                       "a newline in a message starts a line of status:\n\(status)")
        XCTAssertFalse(coordinator.stderr.unicodeScalars.contains("\u{1b}"),
                       "the coordinator's log holds an ESC byte:\n\(coordinator.stderr.suffix(2000).debugDescription)")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
        _ = coordinator.stop()
        killProcesses(matching: "sleep 20.6161")
    }

    // MARK: empty files given on the command line, bad progress

    func testSubmitAndRunOfAnEmptyFileFailBeforeQueueingAnything() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let src = try makeScratchDir("src")
        let blank = try write("", to: src.appendingPathComponent("blank-prompt.md"))

        let s = try gadugiRun(["submit", blank.path], timeout: 20)
        XCTAssertEqual(s.status, 1, "submit of an empty file should exit 1:\n\(s)")
        XCTAssertTrue(s.stderr.contains("blank-prompt.md"), "submit should name the file:\n\(s)")
        XCTAssertTrue(s.stderr.lowercased().contains("empty"), "submit should say the file is empty:\n\(s)")
        XCTAssertEqual(allQueued(), [], "nothing may be queued")

        let r = try gadugiRun(["run", blank.path, "--agent", catAgent], timeout: 20, env: ["OUT": out.path])
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 1, "run of an empty file should exit 1:\n\(r)")
        XCTAssertTrue(r.stderr.contains("blank-prompt.md") && r.stderr.lowercased().contains("empty"),
                      "run should name the file and say it is empty:\n\(r)")
        XCTAssertEqual(allQueued(), [], "run must refuse before queueing anything")
        XCTAssertEqual(outputs(out), [], "nothing may run")
    }

    func testProgressWithANegativePercentIsAUsageError() throws {
        try initSpool()
        let r = try gadugiRun(["progress", "--task", "X", "--percent", "-5"], timeout: 20)
        XCTAssertEqual(r.status, 64, "\(r)")
        XCTAssertTrue(r.stderr.contains("between 0 and 100"), "the message should say the range:\n\(r)")
    }
}
