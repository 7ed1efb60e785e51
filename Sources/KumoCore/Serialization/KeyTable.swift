/// The encoder's table of key strings already written during one top-level encode call.
///
/// Each key is remembered with the buffer offset of the entry tag that last spelled it out, so that
/// later entries can refer back to it by distance (see `docs/serialization.md`).
///
/// Lookups first try the slot after the previous hit: synthesized `Codable` writes the same keys
/// in the same order for every element of an array, and a hit there is a single string comparison
/// (of identical literals, so a bit comparison). Otherwise the table is searched by a 64-bit
/// fingerprint of the key (see ``fingerprint(_:)``), linearly while it is small and through a
/// dictionary once it grows; only fingerprint matches are compared as strings.
struct CoderKeyTable {
    /// Back-references farther than this spell the key out again, so that a tag is at most 2 bytes
    /// (`(2047 << 3) | 7 < 2^14`).
    static let maxDistance = 2047

    /// Up to this many keys are searched linearly; beyond it a dictionary index is kept.
    private static let linearLimit = 32

    private struct Entry {
        let name: String
        let fingerprint: UInt64
        var offset: Int
    }

    private var entries: [Entry] = []
    /// Fingerprint → slots, once the table outgrew linear search.
    private var index: [UInt64: [Int]]?
    private var hint = 0

    init() {}

    /// A cheap hash of the key's *representation*: its two raw words on 64-bit platforms (equal
    /// small strings, and copies of one literal, are bit-identical), its bytes elsewhere.
    ///
    /// Equal strings with different representations (say a literal and a heap copy) get different
    /// fingerprints; they then merely spell the key out twice, which stays correct. Fingerprint
    /// matches are always confirmed with `==`.
    @inline(__always)
    static func fingerprint(_ key: String) -> UInt64 {
        #if _pointerBitWidth(_64)
        let words = unsafeBitCast(key, to: (UInt64, UInt64).self)
        let mixed = (words.0 ^ (words.1 &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
        return mixed ^ (mixed >> 31)
        #else
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
        #endif
    }

    /// The slot of `key`, if it was written before. `fingerprint` is filled in when computed, for
    /// a following ``append(_:fingerprint:offset:)``.
    @inline(__always)
    mutating func slot(of key: String, fingerprint: inout UInt64?) -> Int? {
        // After the last key of a type, the next element of an array starts over at its first key.
        let hint = self.hint < self.entries.count ? self.hint : 0
        if hint < self.entries.count, self.entries[hint].name == key {
            self.hint = hint + 1
            return hint
        }
        return self.search(key, fingerprint: &fingerprint)
    }

    private mutating func search(_ key: String, fingerprint: inout UInt64?) -> Int? {
        let hash = Self.fingerprint(key)
        fingerprint = hash
        let count = self.entries.count
        if count <= Self.linearLimit {
            var slot = 0
            while slot < count {
                if self.entries[slot].fingerprint == hash, self.entries[slot].name == key {
                    self.hint = slot + 1
                    return slot
                }
                slot += 1
            }
            return nil
        }
        guard let candidates = self.index?[hash] else { return nil }
        for slot in candidates where self.entries[slot].name == key {
            self.hint = slot + 1
            return slot
        }
        return nil
    }

    /// The offset of the tag that last spelled out the key in `slot`.
    func offset(at slot: Int) -> Int {
        self.entries[slot].offset
    }

    /// Records that the key in `slot` was spelled out again at `offset`.
    mutating func setOffset(_ offset: Int, at slot: Int) {
        self.entries[slot].offset = offset
    }

    /// Adds a key spelled out for the first time at `offset`.
    mutating func append(_ key: String, fingerprint: UInt64?, offset: Int) {
        if self.entries.isEmpty { self.entries.reserveCapacity(16) }
        let hash = fingerprint ?? Self.fingerprint(key)
        self.entries.append(Entry(name: key, fingerprint: hash, offset: offset))
        let count = self.entries.count
        self.hint = count
        if count == Self.linearLimit + 1 {
            var index: [UInt64: [Int]] = Dictionary(minimumCapacity: count * 2)
            for slot in 0..<count { index[self.entries[slot].fingerprint, default: []].append(slot) }
            self.index = index
        } else if count > Self.linearLimit + 1 {
            self.index?[hash, default: []].append(count - 1)
        }
    }
}
