import CInotifyTools
import Foundation
import Glibc

/// Runs git commands for the worktree work, always as an argument vector (never a shell string:
/// branch names and bases come from prompts), in a given directory, with stdout and stderr
/// captured. It waits for its own child by pid, so it must not be used in the coordinator, whose
/// reaper owns `waitpid(-1)`: git work runs in the task's process (`gadugi worktree-prepare`,
/// `worktree-finish`), in `gadugi clean` and in the simulated agent.
public struct Git: Sendable {
    /// What one git command did.
    public struct Output: Sendable, Equatable {
        public let arguments: [String]
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public var succeeded: Bool { status == 0 }

        /// Non-empty lines of stdout.
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }

        /// The first line of stderr that says something: what a user needs to see.
        public var firstErrorLine: String {
            stderr.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                .map(String.init) ?? "(no message)"
        }

        /// `git a b c`, for messages.
        public var command: String { (["git"] + arguments).joined(separator: " ") }
    }

    /// A git command that did not succeed.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let output: Output
        public let directory: String

        public var description: String {
            "'\(output.command)' in \(directory) failed (exit \(output.status)): \(output.firstErrorLine)"
        }
    }

    /// The working directory of every command.
    public let directory: String
    /// `-c` options put before every command: an identity when the repository has none.
    public let configuration: [String]

    /// A runner in `directory`. It asks git once whether an identity is configured
    /// (`git config user.email`, `user.name`) and supplies `gadugi <gadugi@localhost>` for what is
    /// missing, so commits work in a fresh container without changing anyone's configuration.
    public init(directory: String) {
        let probe = Git(directory: directory, configuration: [])
        self.init(directory: directory, configuration: probe.identityOptions())
    }

    init(directory: String, configuration: [String]) {
        self.directory = directory
        self.configuration = configuration
    }

    /// The same runner (same identity options) in another directory, such as a worktree of the
    /// same repository.
    public func at(_ directory: String) -> Git {
        Git(directory: directory, configuration: configuration)
    }

    /// Runs `git <configuration> <arguments>` and waits for it. A git that cannot be started
    /// gives status 127 and a message saying so.
    public func run(_ arguments: [String]) -> Output {
        let argv = ["git"] + configuration + arguments
        let result = GitProcess.run(argv, directory: directory, environment: Git.environment)
        return Output(arguments: arguments, status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Runs the command and throws unless it exits 0.
    @discardableResult
    public func check(_ arguments: [String]) throws(Failure) -> Output {
        let output = run(arguments)
        guard output.succeeded else { throw Failure(output: output, directory: directory) }
        return output
    }

    /// Our environment without the variables that would point git at another repository or
    /// index (an agent started from a hook may have them), and with prompts and editors off: no
    /// git command here may wait for a person.
    static let environment: [String] = {
        var pairs = ProcessInfo.processInfo.environment.filter { !redirecting.contains($0.key) }
        pairs["GIT_TERMINAL_PROMPT"] = "0"
        pairs["GIT_EDITOR"] = ":"
        return pairs.map { "\($0.key)=\($0.value)" }
    }()

    /// Variables that point git at another repository, work tree or index.
    public static let redirecting: Set<String> = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
                                                   "GIT_PREFIX", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"]

    private func identityOptions() -> [String] {
        var options: [String] = []
        if run(["config", "user.name"]).stdout.isEmpty { options += ["-c", "user.name=gadugi"] }
        if run(["config", "user.email"]).stdout.isEmpty { options += ["-c", "user.email=gadugi@localhost"] }
        return options
    }
}

/// One child process with its stdout and stderr read through pipes until both close.
enum GitProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ argv: [String], directory: String, environment: [String]) -> Result {
        var out: [CInt] = [-1, -1]
        var err: [CInt] = [-1, -1]
        guard makePipe(&out) else { return failed("pipe", currentErrno()) }
        guard makePipe(&err) else {
            close(out[0]); close(out[1])
            return failed("pipe", currentErrno())
        }
        let (pid, rc) = spawn(argv, directory: directory, environment: environment, stdout: out[1], stderr: err[1])
        close(out[1])
        close(err[1])
        defer { close(out[0]); close(err[0]) }
        guard rc == 0 else { return failed("posix_spawn git", rc) }
        let (stdout, stderr) = drain(out[0], err[0])
        return Result(status: wait(pid), stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A close-on-exec pipe. (Another thread's child may inherit it between `pipe` and `fcntl`;
    /// every child spawned here closes all descriptors above 2, so none keeps it open.)
    private static func makePipe(_ fds: inout [CInt]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return true
    }

    private static func spawn(_ argv: [String], directory: String, environment: [String],
                              stdout: CInt, stderr: CInt) -> (pid_t, CInt) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        posix_spawn_file_actions_addchdir_np(&actions, directory)
        var pid: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(environment) { cenv in posix_spawnp(&pid, "git", &actions, nil, cargv, cenv) }
        }
        return (pid, rc)
    }

    /// Reads both pipes with `poll` until both reach end of file, so a chatty stderr can never
    /// block git while we wait on stdout.
    private static func drain(_ a: CInt, _ b: CInt) -> ([UInt8], [UInt8]) {
        var buffers: [[UInt8]] = [[], []]
        var fds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        var chunk = [UInt8](repeating: 0, count: 16384)
        while fds.contains(where: { $0.fd >= 0 }) {
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if currentErrno() == EINTR { continue }
                break
            }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fds[i].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffers[i].append(contentsOf: chunk[0..<n])
                } else if n == 0 || currentErrno() != EINTR {
                    fds[i].fd = -1
                }
            }
        }
        return (buffers[0], buffers[1])
    }

    /// Waits for our own child (by pid, never `waitpid(-1)`); a signal becomes 128 + its number.
    private static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if currentErrno() != EINTR { return 127 }
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private static func failed(_ what: String, _ code: CInt) -> Result {
        Result(status: 127, stdout: "", stderr: "cannot run git (\(what): \(String(cString: strerror(code)))): is git installed and on PATH?")
    }
}

// MARK: - Reading a repository without running git

extension Git {
    /// The top-level directory of the work tree holding `path`: the nearest directory, from
    /// `path` upwards, with a `.git` directory or a `.git` file starting `gitdir:` (a linked
    /// worktree or a submodule). Pure file reads, so the coordinator may call it.
    public static func topLevel(of path: String) -> String? {
        var dir = path
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        while true {
            if gitDirectory(topLevel: dir) != nil { return dir }
            let parent = Files.split(dir).0
            if parent == dir || dir == "/" || dir == "." { return nil }
            dir = parent
        }
    }

    /// The git directory of a work tree: `.git` itself, or where its `gitdir:` file points.
    public static func gitDirectory(topLevel: String) -> String? {
        let dotGit = topLevel + "/.git"
        if (try? Files.isDirectory(dotGit)) == true { return dotGit }
        guard let text = try? Files.readText(dotGit, limit: 4096), text.hasPrefix("gitdir:") else { return nil }
        let target = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !target.isEmpty else { return nil }
        return target.hasPrefix("/") ? target : topLevel + "/" + target
    }

    /// The repository's common directory, where branches, `packed-refs` and `info/exclude` live:
    /// the git directory, or for a linked worktree where its `commondir` file points.
    public static func commonDirectory(topLevel: String) -> String? {
        guard let gitDir = gitDirectory(topLevel: topLevel) else { return nil }
        guard let text = try? Files.readText(gitDir + "/commondir", limit: 4096) else { return gitDir }
        let target = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if target.isEmpty { return gitDir }
        return resolved(target.hasPrefix("/") ? target : gitDir + "/" + target)
    }

    /// `path` with `..` and links resolved (`.git/worktrees/a/../..` → `.git`) when it exists.
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// The commit id HEAD names, read from the files (`HEAD`, then the loose ref, then
    /// `packed-refs`); a detached HEAD is the id itself. nil for a branch without commits, or a
    /// repository whose refs cannot be read this way (reftable): then pass `HEAD` as the base,
    /// and the task's process resolves it. Spawns nothing: the coordinator calls it at claim.
    public static func head(topLevel: String) -> String? {
        guard let gitDir = gitDirectory(topLevel: topLevel), let common = commonDirectory(topLevel: topLevel),
              let text = try? Files.readText(gitDir + "/HEAD", limit: 4096) else { return nil }
        return resolve(text.trimmingCharacters(in: .whitespacesAndNewlines), gitDir: gitDir, common: common, depth: 0)
    }

    /// The commit local branch `branch` points at, read from the files like `head(topLevel:)`;
    /// nil when there is no such branch (or the refs cannot be read this way).
    public static func commit(ofBranch branch: String, topLevel: String) -> String? {
        guard let gitDir = gitDirectory(topLevel: topLevel), let common = commonDirectory(topLevel: topLevel) else { return nil }
        return resolve("ref: refs/heads/" + branch, gitDir: gitDir, common: common, depth: 0)
    }

    private static func resolve(_ value: String, gitDir: String, common: String, depth: Int) -> String? {
        if isObjectID(value) { return value }
        guard value.hasPrefix("ref:"), depth < 8 else { return nil }
        let name = value.dropFirst(4).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !name.contains(".."), !name.hasPrefix("/") else { return nil }
        let perWorktree = !name.contains("/") || name.hasPrefix("refs/worktree/") || name.hasPrefix("refs/bisect/")
        if let loose = try? Files.readText((perWorktree ? gitDir : common) + "/" + name, limit: 4096) {
            return resolve(loose.trimmingCharacters(in: .whitespacesAndNewlines), gitDir: gitDir, common: common, depth: depth + 1)
        }
        return packedRef(name, common: common)
    }

    /// `<id> <ref>` lines of `packed-refs`; `#` headers and `^` peeled lines are skipped.
    private static func packedRef(_ name: String, common: String) -> String? {
        guard let text = try? Files.readText(common + "/packed-refs", limit: 256 << 20) else { return nil }
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("^") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[1] == name, isObjectID(String(parts[0])) { return String(parts[0]) }
        }
        return nil
    }

    /// 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
    static func isObjectID(_ s: String) -> Bool {
        (s.utf8.count == 40 || s.utf8.count == 64) && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
