import Glibc

/// Task folders made ahead of time, while the coordinator has nothing else to do. Creating an
/// inode costs 80–380 µs on the disks measured here and a rename about 10 µs, so claiming a prompt
/// renames a ready folder (with its empty `output.log`, `outcome` and heartbeat) into `tasks/<id>` instead of
/// creating them between a prompt's arrival and its agent's start. A rename with NOREPLACE
/// reserves the id exactly as `mkdir` would. Spares live in `.gadugi/spare/` and are reused by
/// the next coordinator after a crash; a damaged one only costs the files it lacks.
public final class SparePool {
    let layout: Layout
    let target: Int
    private var ready: [String] = []
    private var counter = 0

    public init(layout: Layout, target: Int) {
        self.layout = layout
        self.target = target
        let names = (try? Files.list(layout.spare)) ?? []
        ready = names.filter { !$0.hasPrefix(".") }.map { layout.spare + "/" + $0 }
    }

    public var count: Int { ready.count }

    /// Makes up to `limit` spares while fewer than `target` are ready.
    public func refill(atMost limit: Int) {
        var made = 0
        while made < limit && ready.count < target {
            counter += 1
            let path = "\(layout.spare)/\(getpid())-\(counter)"
            do {
                guard try Files.makeDirectory(path) else { continue }
                for file in SparePool.files { try Files.touch(path + "/" + file) }
            } catch {
                return
            }
            ready.append(path)
            made += 1
        }
    }

    /// The heartbeat made with a spare; `start` moves it to `heartbeats/<id>`.
    static let heartbeat = ".heartbeat"

    /// The empty files a spare holds: a task folder holding only these, all still empty, is as
    /// untouched as an empty one.
    static let files = ["output.log", "outcome", heartbeat]

    /// Creates `directory`: from a spare if one is ready, else with `mkdir`. False when
    /// something already has that name (the id is taken).
    public func take(into directory: String) throws(SystemError) -> Bool {
        while let spare = ready.last {
            do {
                try Files.renameNoReplace(spare, directory)
                ready.removeLast()
                return true
            } catch {
                switch error.errno {
                case .fileExists, .directoryNotEmpty: return false
                case .noSuchFileOrDirectory where Files.exists(Files.split(directory).0): ready.removeLast()
                default: throw error
                }
            }
        }
        return try Files.makeDirectory(directory)
    }

    /// Takes back a folder that `take` gave out but was not used. False if it cannot be moved.
    public func giveBack(_ directory: String) -> Bool {
        counter += 1
        let path = "\(layout.spare)/\(getpid())-\(counter)"
        guard (try? Files.renameNoReplace(directory, path)) != nil else { return false }
        ready.append(path)
        return true
    }
}
