/// A flag that can only be switched on: once any replica sets it, every replica sees it set.
public struct Flag: CRDT, CustomStringConvertible {
    /// Whether the flag is set.
    public private(set) var isEnabled = false

    public init() {}

    /// Sets the flag; returns the delta.
    @discardableResult
    public mutating func enable() -> Flag {
        isEnabled = true
        return self
    }

    public mutating func merge(_ other: Flag) {
        isEnabled = isEnabled || other.isEnabled
    }

    public var description: String { "Flag(\(isEnabled))" }
}
