/// The 64-bit FNV-1a hash: small, fast, and the same in every process (unlike `Hasher`, which is
/// seeded per process), for values every node must compute alike: digests, placement scores.
public struct FNV1a: Sendable {
    @usableFromInline
    var state: UInt64

    /// The hash of everything added so far.
    public var value: UInt64 { state }

    /// A hash of nothing yet.
    @inlinable
    public init() {
        state = 0xCBF2_9CE4_8422_2325
    }

    /// Adds one byte.
    @inlinable
    public mutating func add(_ byte: UInt8) {
        state ^= UInt64(byte)
        state &*= 0x0000_0100_0000_01B3
    }

    /// Adds the eight bytes of `number`, least significant first.
    @inlinable
    public mutating func add(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { add(UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
    }

    /// Adds the UTF-8 bytes of `text`.
    @inlinable
    public mutating func add(_ text: String) {
        for byte in text.utf8 { add(byte) }
    }
}
