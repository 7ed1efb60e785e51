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

    public func putGear(_ gear: DataGear, key: String) throws {
        try checkOpen()
        wake(try store.put(gear, key: key))
    }

    public func updateGear(_ gear: DataGear, key: String) throws {
        try checkOpen()
        wake(try store.update(gear, key: key))
    }

    /// Consumes the oldest gear under `key` if there is one, without waiting.
    public func tryTakeGear(_ key: String) throws -> DataGear? {
        try checkOpen()
        nextWaiter += 1
        let id = nextWaiter
        if case .gear(let gear) = store.read(key, mode: .take, waiter: id) { return gear }
        _ = store.cancel(id, key: key)
        return nil
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

    public func takeGear(_ key: String) async throws -> DataGear {
        try await read(key, mode: .take)
    }

    public func peekGear(_ key: String) async throws -> DataGear {
        try await read(key, mode: .peek)
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
