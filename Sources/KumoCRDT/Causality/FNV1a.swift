/// The 64-bit FNV-1a hash: small, fast, and the same in every process (unlike `Hasher`, which is
/// seeded per process), for values every node must compute alike.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ byte: UInt8) {
        value ^= UInt64(byte)
        value &*= 0x0000_0100_0000_01B3
    }

    mutating func add(_ number: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { add(UInt8(truncatingIfNeeded: number >> UInt64(shift))) }
    }

    mutating func add(_ text: String) {
        for byte in text.utf8 { add(byte) }
    }
}
