/// The version of the Kumo wire protocol that peers agree on in the handshake.
public struct ProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The version number.
    public var rawValue: UInt16

    /// Creates a version.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    /// The version this build speaks: 2 added call metadata to the call frame and the `cancel`
    /// frame (docs/wire.md).
    public static let current = ProtocolVersion(2)
    /// The oldest version this build still speaks. Version 1's call frame has no metadata, so a
    /// node speaking only version 1 is refused in the handshake.
    public static let minimumSupported = ProtocolVersion(2)

    public static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "v\(rawValue)" }
}
