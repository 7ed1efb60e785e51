import Kumo

/// Why a Data Gear operation or a Code Gear failed.
public struct GearError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure it is.
    public enum Code: String, Codable, Sendable {
        /// The gear under the key is of another type than the reader asked for.
        case typeMismatch
        /// The key's queue is full.
        case full
        /// The value does not encode or decode.
        case malformed
        /// No DGM of that name is known to the manager.
        case unknownManager
        /// The node of a remote DGM died, left, or cannot be reached.
        case managerGone
        /// The manager was closed.
        case closed
        /// A Topology Manager could not place the manager: not in its cluster, its graph full,
        /// or its graph not complete in time.
        case topology
    }

    /// What kind of failure it is.
    public var code: Code
    /// The key concerned, if any.
    public var key: String?
    /// What happened, in words.
    public var message: String

    public init(_ code: Code, key: String? = nil, _ message: String) {
        self.code = code
        self.key = key
        self.message = message
    }

    public var description: String { "GearError.\(code): \(message)" }
}
