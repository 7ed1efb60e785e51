import Synchronization

/// Large byte arrays kept after their receiver is done with them, so the next large message is
/// received into memory that is already mapped.
///
/// A large array is new memory: glibc maps every allocation over 32 MiB on its own and unmaps it
/// when it is freed, so each page of the next one is faulted in and zeroed by the kernel before a
/// byte is received into it. On this machine that zeroing costs more than copying the bytes twice
/// (`kumo-bench bulk`: `clear_page_erms` 4–5 % of all samples, the copies into the array 1–2 %).
/// Erlang keeps freed segments for the same reason (`mseg_alloc`'s cache).
///
/// The cache holds a reference to the storage of each array it kept. While anybody else holds
/// the array too, it is theirs: the cache never touches it, and since arrays are values, mutating
/// it copies it first (as for any array with two holders). Once every other holder let go — the
/// cache's reference is the only one — ``take(capacity:)`` may hand the storage out again,
/// emptied. Arrays below ``minimumCapacity`` are not kept (the allocator reuses those), nor any
/// beyond ``maximumEntries`` or ``maximumBytes`` (the oldest is let go), nor any kept longer
/// than ``maximumAge`` (``trim(now:)``).
///
/// It relies on an array of bytes being one reference to its storage object, which holds on
/// every platform Swift runs on; ``isSupported`` checks it once, and where it does not hold the
/// cache keeps nothing.
package final class ByteArrayCache: Sendable {
    /// Arrays with less capacity than this are not kept.
    package static let minimumCapacity = 8 << 20

    /// `@unchecked Sendable`: `storage` is the storage of a `[UInt8]`, a `Sendable` value, and
    /// is only read or replaced under the cache's lock; it becomes an array again only once the
    /// entry's reference is the only one (so nobody else can see the bytes change).
    private struct Entry: @unchecked Sendable {
        /// The array's storage object (the array's only stored property).
        var storage: AnyObject
        var capacity: Int
        var keptAt: UInt64
    }

    private struct State {
        var entries: [Entry] = []
        /// A ``trim(now:)`` is due (the caller was told to schedule one and it has not yet
        /// found the cache empty).
        var trimScheduled = false
    }

    private let state = Mutex(State())
    package let maximumEntries: Int
    package let maximumBytes: Int
    /// Nanoseconds an array is kept without being taken.
    package let maximumAge: UInt64

    package init(maximumEntries: Int = 4, maximumBytes: Int = 512 << 20, maximumAge: Duration = .seconds(5)) {
        self.maximumEntries = maximumEntries
        self.maximumBytes = maximumBytes
        let (seconds, attoseconds) = maximumAge.components
        self.maximumAge = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// Whether an array's storage can be told apart and handed out again here.
    package static let isSupported: Bool = {
        guard MemoryLayout<[UInt8]>.size == MemoryLayout<AnyObject>.size else { return false }
        let array = [UInt8](repeating: 7, count: 64)
        let base = array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        var storage = unsafeBitCast(array, to: AnyObject.self)
        let shared = withExtendedLifetime(array) { isUniquelyHeld(&storage) }
        guard !shared else { return false }
        var alone: AnyObject = ByteArrayCache(maximumEntries: 0)
        guard isUniquelyHeld(&alone) else { return false }
        let back = unsafeBitCast(storage, to: [UInt8].self)
        return back.count == 64 && back.allSatisfy { $0 == 7 }
            && back.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == base
    }()

    /// Whether `object` has no other strong reference. Called through a function of a fixed
    /// type: passed straight to `isKnownUniquelyReferenced`, an `AnyObject` is opened into a
    /// temporary copy (SE-0352), which unoptimized builds keep, and nothing ever looks unique.
    private static func isUniquelyHeld(_ object: inout AnyObject) -> Bool {
        let check: (inout AnyObject) -> Bool = isKnownUniquelyReferenced
        return check(&object)
    }

    /// How many arrays are kept (held elsewhere or not).
    package var count: Int { state.withLock { $0.entries.count } }

    /// An empty array whose capacity is at least `capacity` (and at most twice it), made from a
    /// kept array nobody else holds; `nil` if there is none.
    package func take(capacity: Int) -> [UInt8]? {
        guard capacity >= Self.minimumCapacity else { return nil }
        let found: AnyObject? = state.withLock { state in
            for index in state.entries.indices
            where state.entries[index].capacity >= capacity && state.entries[index].capacity / 2 <= capacity
                && Self.isUniquelyHeld(&state.entries[index].storage)
            {
                return state.entries.remove(at: index).storage
            }
            return nil
        }
        guard let storage = consume found else { return nil }
        var array = unsafeBitCast(consume storage, to: [UInt8].self)
        // The array is the storage's only holder now, so emptying it keeps the storage.
        array.removeAll(keepingCapacity: true)
        return array
    }

    /// Keeps a reference to `array`'s storage, so that once every other holder let it go a later
    /// ``take(capacity:)`` can reuse it. Returns whether the caller must schedule a
    /// ``trim(now:)`` within ``maximumAge`` (none is due yet).
    @discardableResult
    package func keep(_ array: [UInt8], now: UInt64) -> Bool {
        let capacity = array.capacity
        guard Self.isSupported, capacity >= Self.minimumCapacity, capacity <= maximumBytes else { return false }
        let storage = unsafeBitCast(array, to: AnyObject.self)
        var evicted: [Entry] = []
        let schedule = state.withLock { state in
            state.entries.append(Entry(storage: storage, capacity: capacity, keptAt: now))
            var bytes = state.entries.reduce(0) { $0 + $1.capacity }
            while state.entries.count > maximumEntries || bytes > maximumBytes {
                let oldest = state.entries.removeFirst()
                bytes -= oldest.capacity
                evicted.append(oldest)
            }
            defer { state.trimScheduled = true }
            return !state.trimScheduled
        }
        // Let go outside the lock: freeing 64 MiB unmaps it.
        evicted.removeAll()
        return schedule
    }

    /// Lets go of the arrays kept longer than ``maximumAge``; returns whether any are left (then
    /// the caller schedules the next trim; otherwise the next ``keep(_:now:)`` asks for one).
    @discardableResult
    package func trim(now: UInt64) -> Bool {
        let maximumAge = self.maximumAge
        let expired = { (entry: Entry) in now &- entry.keptAt >= maximumAge }
        var dropped: [Entry] = []
        let left = state.withLock { state in
            // Kept in order (oldest first), which eviction relies on.
            dropped = state.entries.filter(expired)
            state.entries.removeAll(where: expired)
            state.trimScheduled = !state.entries.isEmpty
            return state.trimScheduled
        }
        dropped.removeAll()  // outside the lock: freeing 64 MiB unmaps it
        return left
    }
}
