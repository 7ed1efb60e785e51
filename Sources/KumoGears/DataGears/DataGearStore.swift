import DequeModule
import Kumo

/// A DGM's queues and waiters as a value, with no I/O: what `put`, `update`, `take` and `peek` do,
/// and whom each change wakes. The ``DataGearManager`` actor around it holds the continuations.
struct DataGearStore: Sendable {
    /// How a waiter reads.
    enum Mode: Sendable, Equatable {
        /// Consumes the oldest gear.
        case take
        /// Reads the oldest gear and leaves it.
        case peek
    }

    struct Waiter: Sendable, Equatable {
        var id: UInt64
        var mode: Mode
    }

    /// A waiter to resume with a gear.
    struct Wake: Sendable, Equatable {
        var waiter: UInt64
        var gear: DataGear
    }

    /// What a read found: a gear now, or a place in the key's line of waiters.
    enum Read: Sendable, Equatable {
        case gear(DataGear)
        case waiting
    }

    /// Gears per key, oldest first.
    private(set) var queues: [String: Deque<DataGear>] = [:]
    /// Readers waiting per key, in arrival order.
    private(set) var waiters: [String: Deque<Waiter>] = [:]
    /// The most gears one key holds.
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Appends `gear` under `key`, first handing it to the readers waiting there: every peeker
    /// before the first taker sees it, and that taker consumes it.
    mutating func put(_ gear: DataGear, key: String) throws(GearError) -> [Wake] {
        var wakes: [Wake] = []
        while let first = waiters[key]?.popFirst() {
            if waiters[key]?.isEmpty == true { waiters[key] = nil }
            wakes.append(Wake(waiter: first.id, gear: gear))
            if first.mode == .take { return wakes }
        }
        guard queues[key, default: []].count < capacity else {
            throw GearError(.full, key: key, "key \(key) holds \(capacity) gears, its limit")
        }
        queues[key, default: []].append(gear)
        return wakes
    }

    /// Replaces the newest gear under `key` (or puts the first one).
    mutating func update(_ gear: DataGear, key: String) throws(GearError) -> [Wake] {
        if let count = queues[key]?.count, count > 0 {
            queues[key]?[count - 1] = gear
            return []
        }
        return try put(gear, key: key)
    }

    /// Reads the oldest gear under `key`, or queues `waiter` until one comes.
    mutating func read(_ key: String, mode: Mode, waiter: UInt64) -> Read {
        if let oldest = readNow(key, mode: mode) { return .gear(oldest) }
        waiters[key, default: []].append(Waiter(id: waiter, mode: mode))
        return .waiting
    }

    /// Reads the oldest gear under `key` if there is one, without queueing a waiter.
    mutating func readNow(_ key: String, mode: Mode) -> DataGear? {
        // In place: a copy of the queue taken out of the dictionary would copy its storage.
        guard mode == .take else { return queues[key]?.first }
        guard let oldest = queues[key]?.popFirst() else { return nil }
        if queues.count > Self.emptyQueuesKept, queues[key]?.isEmpty == true { queues[key] = nil }
        return oldest
    }

    /// While a DGM holds at most this many keys, an emptied key keeps its queue, so that a key
    /// taken and put in turn (a loop of gears) does not allocate a queue for every gear.
    static let emptyQueuesKept = 64

    /// Forgets `waiter` (its reader was cancelled); whether it was still waiting.
    mutating func cancel(_ waiter: UInt64, key: String) -> Bool {
        guard var line = waiters[key], let index = line.firstIndex(where: { $0.id == waiter }) else { return false }
        line.remove(at: index)
        waiters[key] = line.isEmpty ? nil : line
        return true
    }

    /// How many gears `key` holds.
    func count(_ key: String) -> Int { queues[key]?.count ?? 0 }

    /// Every waiter, to fail them when the manager closes.
    mutating func removeAllWaiters() -> [UInt64] {
        let all = waiters.values.flatMap { $0.map(\.id) }
        waiters = [:]
        return all
    }
}
