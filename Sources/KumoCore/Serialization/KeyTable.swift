/// The encoder's table of key strings already written during one top-level encode call.
///
/// Each key is remembered with the buffer offset of the entry tag that last spelled it out, so that
/// later entries can refer back to it by distance (see `docs/serialization.md`). Lookups first try
/// the slot after the previous hit (synthesized `Codable` writes the same keys in the same order for
/// every element of an array), then scan linearly while the table is small, and switch to hashing
/// once it grows.
struct CoderKeyTable {
    /// Back-references farther than this spell the key out again, so that a tag is at most 2 bytes
    /// (`(2047 << 3) | 7 < 2^14`).
    static let maxDistance = 2047

    /// Up to this many keys are searched linearly; beyond it a dictionary index is kept.
    private static let linearLimit = 16

    private struct Entry {
        let name: String
        var offset: Int
    }

    private var entries: [Entry] = []
    private var index: [String: Int] = [:]
    private var hint = 0

    init() {}

    /// The slot of `key`, if it was written before.
    mutating func slot(of key: String) -> Int? {
        let count = entries.count
        if hint < count, entries[hint].name == key {
            let slot = hint
            hint += 1
            return slot
        }
        if count <= Self.linearLimit {
            var slot = 0
            while slot < count {
                if entries[slot].name == key {
                    hint = slot + 1
                    return slot
                }
                slot += 1
            }
            return nil
        }
        guard let slot = index[key] else { return nil }
        hint = slot + 1
        return slot
    }

    /// The offset of the tag that last spelled out the key in `slot`.
    func offset(at slot: Int) -> Int {
        entries[slot].offset
    }

    /// Records that the key in `slot` was spelled out again at `offset`.
    mutating func setOffset(_ offset: Int, at slot: Int) {
        entries[slot].offset = offset
    }

    /// Adds a key spelled out for the first time at `offset`.
    mutating func append(_ key: String, offset: Int) {
        if entries.isEmpty { entries.reserveCapacity(8) }
        entries.append(Entry(name: key, offset: offset))
        let count = entries.count
        hint = count
        if count == Self.linearLimit + 1 {
            index.reserveCapacity(count * 2)
            for slot in 0..<count { index[entries[slot].name] = slot }
        } else if count > Self.linearLimit + 1 {
            index[key] = count - 1
        }
    }
}
