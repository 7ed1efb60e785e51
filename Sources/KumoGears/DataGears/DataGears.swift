import Kumo

/// A Data Gear Manager as Code Gears use it, local or remote: queues of typed gears under keys.
///
/// `take` consumes the oldest gear under a key and `peek` reads it and leaves it; both wait until
/// one is there. `put` appends, `update` replaces the newest, and `flip` hands the oldest gear to
/// another DGM (or key) without decoding it.
public protocol DataGears: Sendable {
    /// The DGM's name, as its Code Gear Manager knows it.
    var name: String { get }
    /// Appends `gear` under `key`.
    func putGear(_ gear: DataGear, key: String) async throws
    /// Replaces the newest gear under `key`, or puts the first one.
    func updateGear(_ gear: DataGear, key: String) async throws
    /// Consumes the oldest gear under `key`, waiting until there is one.
    func takeGear(_ key: String) async throws -> DataGear
    /// Reads the oldest gear under `key` and leaves it, waiting until there is one.
    func peekGear(_ key: String) async throws -> DataGear
}

extension DataGears {
    /// Appends `value` under `key`.
    public func put<Value: Codable & Sendable>(_ key: String, _ value: Value) async throws {
        try await putGear(try DataGear(value), key: key)
    }

    /// Replaces the newest value under `key` with `value`, or puts the first one.
    public func update<Value: Codable & Sendable>(_ key: String, _ value: Value) async throws {
        try await updateGear(try DataGear(value), key: key)
    }

    /// Consumes the oldest value under `key`, waiting until there is one.
    /// - Throws: ``GearError`` `typeMismatch` when the key holds another type (the gear is then
    ///   put back).
    public func take<Value: Codable & Sendable>(_ key: String, as type: Value.Type = Value.self) async throws -> Value {
        let gear = try await takeGear(key)
        do {
            return try gear.value(as: type, key: key)
        } catch {
            try? await putGear(gear, key: key)
            throw error
        }
    }

    /// Reads the oldest value under `key` and leaves it, waiting until there is one.
    public func peek<Value: Codable & Sendable>(_ key: String, as type: Value.Type = Value.self) async throws -> Value {
        try await peekGear(key).value(as: type, key: key)
    }

    /// Hands the oldest gear under `key` to `target` under `targetKey` (the same key by default),
    /// as it is.
    public func flip(_ key: String, to target: any DataGears, key targetKey: String? = nil) async throws {
        let gear = try await takeGear(key)
        try await target.putGear(gear, key: targetKey ?? key)
    }
}
