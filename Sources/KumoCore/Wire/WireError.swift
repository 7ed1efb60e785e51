/// A violation of the Kumo wire protocol: a malformed, truncated or oversized frame.
///
/// The transport answers any `WireError` on a connection by logging it and closing that one
/// connection; nothing else on the node is affected.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of violation this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: Hashable, Sendable {
            case truncated, frameTooLarge, unknownFrameKind, malformed, badMagic, unsupportedVersion
        }
        let value: Value
        /// A field or frame ended before its declared length.
        public static let truncated = Code(value: .truncated)
        /// A length prefix above the configured maximum.
        public static let frameTooLarge = Code(value: .frameTooLarge)
        /// A frame kind this version does not know.
        public static let unknownFrameKind = Code(value: .unknownFrameKind)
        /// A field holds a value that cannot be right (bad UTF-8, overlong varint, bad flag).
        public static let malformed = Code(value: .malformed)
        /// The first bytes of a connection are not a Kumo hello.
        public static let badMagic = Code(value: .badMagic)
        /// The peers share no protocol version.
        public static let unsupportedVersion = Code(value: .unsupportedVersion)

        public var description: String {
            switch value {
            case .truncated: "truncated"
            case .frameTooLarge: "frame too large"
            case .unknownFrameKind: "unknown frame kind"
            case .malformed: "malformed"
            case .badMagic: "bad magic"
            case .unsupportedVersion: "unsupported version"
            }
        }
    }

    /// The kind of violation.
    public var code: Code
    /// What was wrong, for the log.
    public var message: String

    /// Creates a wire error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "wire protocol error (\(code)): \(message)" }
}
