import Kumo

import NIOPosix

/// A local Data Gear Manager: the queues of one Code Gear Manager, in memory.
///
/// It runs on an event loop's executor: a Code Gear Manager's DGM on its node's loop, so that a
/// gear put by another node is stored, and its waiting reader woken, on the thread that read it.
public actor DataGearManager: DataGears {
    public nonisolated let name: String
    /// Where the manager runs.
    public nonisolated let executor: EventLoopExecutor

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }
    private var store: DataGearStore
    private var waiting: [UInt64: CheckedContinuation<DataGear, any Error>] = [:]
    /// Gears handed to a reader before its continuation was stored.
    private var early: [UInt64: DataGear] = [:]
    private var nextWaiter: UInt64 = 0
    private var closed = false

    /// A DGM whose keys hold at most `capacity` gears each, running on `executor` (by default on
    /// one of NIO's shared event loops).
    public init(name: String = "local", capacity: Int = 65_536, executor: EventLoopExecutor? = nil) {
        self.name = name
        self.executor = executor ?? EventLoopExecutor(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        self.store = DataGearStore(capacity: capacity)
    }

    // Every operation called on the manager's own event loop (a gear running there, a remote
    // operation arriving there) runs at once, in place, isolated to the manager: the loop's
    // thread is the only one that runs the manager's jobs, so no job of it runs meanwhile, and
    // the two executor switches of an actor call are saved. From elsewhere, it hops to the loop.

    public nonisolated func putGear(_ gear: DataGear, key: String) async throws {
        if executor.eventLoop.inEventLoop { return try inPlace { try $0.putNow(gear, key: key) } }
        try await putIsolated(gear, key: key)
    }

    public nonisolated func updateGear(_ gear: DataGear, key: String) async throws {
        if executor.eventLoop.inEventLoop { return try inPlace { try $0.updateNow(gear, key: key) } }
        try await updateIsolated(gear, key: key)
    }

    /// Runs `body` isolated to the manager, in place: only on the manager's event loop.
    private nonisolated func inPlace<T: Sendable>(_ body: (isolated DataGearManager) throws -> T) rethrows -> T {
        try assumeIsolated(body)
    }

    private func putNow(_ gear: DataGear, key: String) throws {
        try checkOpen()
        wake(try store.put(gear, key: key))
    }

    private func putIsolated(_ gear: DataGear, key: String) throws { try putNow(gear, key: key) }

    private func updateNow(_ gear: DataGear, key: String) throws {
        try checkOpen()
        wake(try store.update(gear, key: key))
    }

    private func updateIsolated(_ gear: DataGear, key: String) throws { try updateNow(gear, key: key) }

    /// Consumes the oldest gear under `key` if there is one, without waiting.
    public func tryTakeGear(_ key: String) throws -> DataGear? {
        try readNow(key, mode: .take)
    }

    /// The oldest gear under `key` if there is one now (consumed when `mode` is take).
    private func readNow(_ key: String, mode: DataGearStore.Mode) throws -> DataGear? {
        try checkOpen()
        return store.readNow(key, mode: mode)
    }

    private func wake(_ wakes: [DataGearStore.Wake]) {
        for wake in wakes {
            if let continuation = waiting.removeValue(forKey: wake.waiter) {
                continuation.resume(returning: wake.gear)
            } else {
                early[wake.waiter] = wake.gear
            }
        }
    }

    public nonisolated func takeGear(_ key: String) async throws -> DataGear {
        if executor.eventLoop.inEventLoop, let gear = try inPlace({ try $0.readNow(key, mode: .take) }) { return gear }
        return try await read(key, mode: .take)
    }

    public nonisolated func peekGear(_ key: String) async throws -> DataGear {
        if executor.eventLoop.inEventLoop, let gear = try inPlace({ try $0.readNow(key, mode: .peek) }) { return gear }
        return try await read(key, mode: .peek)
    }

    /// How many gears `key` holds now.
    public func count(_ key: String) -> Int { store.count(key) }

    /// Fails every waiting reader and refuses what comes later.
    public func close() {
        closed = true
        for id in store.removeAllWaiters() {
            waiting.removeValue(forKey: id)?.resume(throwing: GearError(.closed, "DGM \(name) is closed"))
        }
    }

    private func read(_ key: String, mode: DataGearStore.Mode) async throws -> DataGear {
        try checkOpen()
        nextWaiter += 1
        let id = nextWaiter
        if case .gear(let gear) = store.read(key, mode: mode, waiter: id) { return gear }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                if let gear = early.removeValue(forKey: id) {
                    continuation.resume(returning: gear)
                } else if Task.isCancelled, store.cancel(id, key: key) {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiting[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.cancel(id, key: key) }
        }
    }

    private func cancel(_ id: UInt64, key: String) {
        if store.cancel(id, key: key) { waiting.removeValue(forKey: id)?.resume(throwing: CancellationError()) }
    }

    private func checkOpen() throws(GearError) {
        if closed { throw GearError(.closed, "DGM \(name) is closed") }
    }
}
