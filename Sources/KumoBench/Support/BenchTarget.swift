import Kumo

/// The actor the peer process hosts as `bench`. It runs on the node's event-loop executor, so a
/// remote call reaches it, and its reply leaves, without a thread hop — and a large call (which
/// runs on the low-priority bulk threads) does not take the actor with it: as a plain actor, the
/// small calls queued behind a large one ran on the bulk thread after it, at low priority
/// (`bulk` with 20 transfers: small-call p99 5.1–5.7 ms, one transfer at 0.6 GB/s with every
/// small call 5 ms; 1.1–1.2 ms on the loop's executor). Plain, it did 5 % more `concurrent`.
distributed actor BenchTarget {
    typealias ActorSystem = ClusterSystem

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }


    private var sinkTask: Task<Int, Never>?

    /// Returns its argument (the 64-byte round trip).
    distributed func echo(_ payload: [UInt8]) -> [UInt8] {
        payload
    }

    /// Returns how many bytes it was sent (the bulk transfer).
    distributed func sink(_ bytes: [UInt8]) -> Int {
        bytes.count
    }

    /// Opens a port that counts `expected` one-way messages; returns its send port.
    distributed func openSink(expected: Int) throws -> SendPort<[UInt8]> {
        let (send, receive) = try actorSystem.makeChannel(of: [UInt8].self, capacity: 1 << 20)
        sinkTask = Task {
            var count = 0
            for await _ in receive {
                count += 1
                if count == expected { break }
            }
            receive.close()
            return count
        }
        return send
    }

    /// Waits until the sink opened last has counted all it expected; returns the count.
    distributed func sinkDone() async -> Int {
        await sinkTask?.value ?? 0
    }
}
