import Kumo
import Synchronization

/// How a Code Gear reads one of its inputs.
public enum GearInputMode: Sendable, Equatable {
    /// Consumes the oldest gear: no other gear gets it.
    case take
    /// Reads the oldest gear and leaves it for others.
    case peek
}

/// One input a Code Gear declares with ``Take``, ``Peek``, ``RemoteTake`` or ``RemotePeek``:
/// which DGM, which key, how it is read, and where the value goes.
public protocol GearInput: Sendable {
    /// The DGM, by the name the Code Gear Manager knows it under; `nil` for the local one.
    var dgm: String? { get }
    /// The key, fixed where the input is declared.
    var key: String { get }
    /// Whether the input consumes the gear.
    var mode: GearInputMode { get }
    /// The name of the type the input expects.
    var typeName: String { get }
    /// Decodes `gear` into the input.
    func fill(with gear: DataGear) throws(GearError)
    /// Reserves the input for one armed gear: `false` when a gear holding this very input was
    /// armed before (its value would be shared). Default: always `true`.
    func claim() -> Bool
}

extension GearInput {
    public func claim() -> Bool { true }
}

/// Where an input's value waits until its gear runs. Written once, by the Code Gear Manager,
/// before the gear runs; read by the gear. (Inlinable, so that a gear's reads are specialised
/// for the value's type where the gear is compiled.)
@usableFromInline
final class InputSlot<Value: Sendable>: Sendable {
    @usableFromInline let value = Mutex<Value?>(nil)
    /// Whether a gear holding this slot was armed.
    let claimed = Atomic<Bool>(false)

    @inlinable init() {}

    @inlinable func read(key: String) -> Value {
        guard let value = value.withLock({ $0 }) else {
            preconditionFailure("the input \(key) of a Code Gear was read before the gear ran; read inputs in run(_:)")
        }
        return value
    }
}

/// Shared by the four input wrappers.
protocol SlottedInput: GearInput {
    associatedtype Value: Codable & Sendable
    var slot: InputSlot<Value> { get }
}

extension SlottedInput {
    public var typeName: String { DataGear.typeName(Value.self) }

    public func claim() -> Bool {
        !slot.claimed.exchange(true, ordering: .relaxed)
    }

    public func fill(with gear: DataGear) throws(GearError) {
        let value = try gear.value(as: Value.self, key: key)
        slot.value.withLock { $0 = value }
    }
}

/// An input that consumes the oldest gear under `key` in the local DGM:
/// `@Take("count") var count: Int`.
@propertyWrapper
public struct Take<Value: Codable & Sendable>: SlottedInput {
    public let key: String
    public var dgm: String? { nil }
    public var mode: GearInputMode { .take }
    @usableFromInline let slot = InputSlot<Value>()

    @inlinable public init(_ key: String) { self.key = key }

    /// The value, once the gear runs.
    @inlinable public var wrappedValue: Value { slot.read(key: key) }
}

/// An input that reads the oldest gear under `key` in the local DGM and leaves it:
/// `@Peek("config") var config: Config`.
@propertyWrapper
public struct Peek<Value: Codable & Sendable>: SlottedInput {
    public let key: String
    public var dgm: String? { nil }
    public var mode: GearInputMode { .peek }
    @usableFromInline let slot = InputSlot<Value>()

    @inlinable public init(_ key: String) { self.key = key }

    /// The value, once the gear runs.
    @inlinable public var wrappedValue: Value { slot.read(key: key) }
}

/// An input that consumes the oldest gear under `key` in the DGM the manager knows as `dgm`:
/// `@RemoteTake("node1", "count") var count: Int`.
@propertyWrapper
public struct RemoteTake<Value: Codable & Sendable>: SlottedInput {
    public let key: String
    public let dgm: String?
    public var mode: GearInputMode { .take }
    @usableFromInline let slot = InputSlot<Value>()

    @inlinable public init(_ dgm: String, _ key: String) {
        self.dgm = dgm
        self.key = key
    }

    /// The value, once the gear runs.
    @inlinable public var wrappedValue: Value { slot.read(key: key) }
}

/// An input that reads the oldest gear under `key` in the DGM the manager knows as `dgm`, and
/// leaves it: `@RemotePeek("node1", "config") var config: Config`.
@propertyWrapper
public struct RemotePeek<Value: Codable & Sendable>: SlottedInput {
    public let key: String
    public let dgm: String?
    public var mode: GearInputMode { .peek }
    @usableFromInline let slot = InputSlot<Value>()

    @inlinable public init(_ dgm: String, _ key: String) {
        self.dgm = dgm
        self.key = key
    }

    /// The value, once the gear runs.
    @inlinable public var wrappedValue: Value { slot.read(key: key) }
}
