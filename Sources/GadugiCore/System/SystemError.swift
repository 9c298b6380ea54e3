import SystemPackage

/// A failed system call, with the path it was about, so a user can act on the message.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Errno

    public init(_ operation: String, _ path: String, _ errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The error of the call that just failed: reads the thread's `errno`.
    static func last(_ operation: String, _ path: String) -> SystemError {
        SystemError(operation, path, Errno(rawValue: currentErrno()))
    }

    public var description: String {
        "\(operation) \(path): \(errno.description)"
    }
}
