import HeapModule

/// Names in `incoming/` that a claim found unfinished: being written (looked at again when they
/// are closed, or at the next rescan) or written too recently (looked at again when they will have
/// settled). The due times are kept in a heap, so a thousand files copied in at once cost
/// O(log n) each, not a scan per turn of the loop.
struct Parking {
    private struct Entry: Comparable {
        var at: Timestamp
        var name: String
        static func < (a: Entry, b: Entry) -> Bool { (a.at, a.name) < (b.at, b.name) }
    }

    /// name → when to look again; nil: when its writer closes it.
    private var due: [String: Timestamp?] = [:]
    private var heap = Heap<Entry>()

    var count: Int { due.count }
    var isEmpty: Bool { due.isEmpty }

    func contains(_ name: String) -> Bool { due[name] != nil }

    /// True for a name parked until its writer closes it.
    func awaitsClose(_ name: String) -> Bool {
        if case .some(.none) = due[name] { return true }
        return false
    }

    mutating func park(_ name: String, until: Timestamp?) {
        due[name] = .some(until)
        if let until { heap.insert(Entry(at: until, name: name)) }
    }

    /// Takes a name out (it arrived again, or is being claimed). Its heap entry, if any, goes stale
    /// and is skipped when it comes up.
    @discardableResult
    mutating func remove(_ name: String) -> Bool {
        due.removeValue(forKey: name) != nil
    }

    /// Removes and returns the names whose time has come.
    mutating func takeDue(now: Timestamp) -> [String] {
        var names: [String] = []
        while let top = heap.min, top.at <= now {
            heap.removeMin()
            if case .some(.some(let at)) = due[top.name], at == top.at {
                due.removeValue(forKey: top.name)
                names.append(top.name)
            }
        }
        return names
    }

    /// The earliest time a parked name is due, skipping stale heap entries.
    mutating func nextDue() -> Timestamp? {
        while let top = heap.min {
            if case .some(.some(let at)) = due[top.name], at == top.at { return at }
            heap.removeMin()
        }
        return nil
    }
}
