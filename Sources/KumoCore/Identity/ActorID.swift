/// The identity of a distributed actor: the node it lives on and its name within that node.
///
/// An actor is either *numbered* (the default: the system hands out a fresh number) or *named*
/// (a well-known name such as `"echo"`, chosen with `ClusterSystem.withActorName`), so that other
/// nodes can address it without a lookup.
public struct ActorID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The node that hosts the actor.
    public var node: NodeID
    /// The actor's name within its node.
    public var path: Path

    /// The actor's name within its node: a number or a well-known string.
    public struct Path: Hashable, Sendable, Codable, CustomStringConvertible {
        @usableFromInline
        enum Storage: Hashable, Sendable {
            case number(UInt64)
            case name(String)
        }

        @usableFromInline
        var storage: Storage

        /// A numbered path.
        public static func number(_ value: UInt64) -> Path { Path(storage: .number(value)) }
        /// A well-known name.
        public static func name(_ value: String) -> Path { Path(storage: .name(value)) }

        /// The number, if this path is numbered.
        public var number: UInt64? {
            if case .number(let value) = storage { return value }
            return nil
        }

        /// The name, if this path is a well-known name.
        public var name: String? {
            if case .name(let value) = storage { return value }
            return nil
        }

        public var description: String {
            switch storage {
            case .number(let value): return "$\(value)"
            case .name(let value): return value
            }
        }

        public init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            let tag = try container.decode(UInt8.self)
            switch tag {
            case 0: storage = .number(try container.decode(UInt64.self))
            case 1: storage = .name(try container.decode(String.self))
            default:
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "unknown ActorID.Path tag \(tag)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            switch storage {
            case .number(let value):
                try container.encode(UInt8(0))
                try container.encode(value)
            case .name(let value):
                try container.encode(UInt8(1))
                try container.encode(value)
            }
        }

        init(storage: Storage) { self.storage = storage }
    }

    /// Creates an actor identity.
    public init(node: NodeID, path: Path) {
        self.node = node
        self.path = path
    }

    /// The identity of the well-known actor `name` on `node`.
    public static func named(_ name: String, on node: NodeID) -> ActorID {
        ActorID(node: node, path: .name(name))
    }

    public var description: String { "\(path)@\(node)" }
}
