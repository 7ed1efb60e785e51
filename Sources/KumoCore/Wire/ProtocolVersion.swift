/// The version of the Kumo wire protocol that peers agree on in the handshake.
public struct ProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The version number.
    public var rawValue: UInt16

    /// Creates a version.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// The version this build speaks.
    public static let current = ProtocolVersion(1)
    /// The oldest version this build still speaks.
    public static let minimumSupported = ProtocolVersion(1)

    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "v\(rawValue)" }
}
