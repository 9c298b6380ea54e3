/// Where the coordinator reads the time: its deadlines (settle, kill grace, ticks, gathering,
/// deferred records) all come from one source, so tests can drive them with a fake one instead
/// of sleeping. File times (mtimes) still come from the kernel.
public protocol TimeSource: Sendable {
    func now() -> Timestamp
}

/// The real time (`CLOCK_REALTIME`, as `Timestamp.now()`).
public struct SystemTime: TimeSource {
    public init() {}
    public func now() -> Timestamp { .now() }
}
