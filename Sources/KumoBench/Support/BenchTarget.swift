import Kumo

/// The actor the peer process hosts as `bench`: a plain distributed actor, as users write them.
/// Inbound calls prefer the node's event loop, so it runs there without a thread hop; adopting
/// the loop's serial executor (`unownedExecutor`) was measured no faster (`concurrent` 277k
/// against 292k calls/s plain, `throughput` and `rtt` the same, in one A/B sitting).
distributed actor BenchTarget {
    typealias ActorSystem = ClusterSystem


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
