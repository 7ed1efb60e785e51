import Distributed
import Kumo

/// The part of ``Replication`` that other nodes call, hosted as `kumo.crdt` on every node that
/// installs the plugin. Calls arrive on the network thread and are handed to the node's
/// ``Replicator`` on the shared pool, where merging happens.
distributed actor ReplicatorAgent {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.crdt"

    private let replicator: Replicator

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    init(replicator: Replicator, actorSystem: ClusterSystem) {
        self.replicator = replicator
        self.actorSystem = actorSystem
    }

    /// Deltas gossiped by a peer; answers what it could not apply.
    distributed func deliver(_ batch: DeltaBatch) async -> Rejections {
        let from = ClusterSystem.currentCaller
        return await withTaskExecutorPreference(globalConcurrentExecutor) {
            await replicator.receive(batch, from: from)
        }
    }

    /// A write at majority or all: applied before the answer.
    distributed func write(_ item: DeltaItem) async throws -> Bool {
        let from = ClusterSystem.currentCaller
        return try await withTaskExecutorPreference(globalConcurrentExecutor) {
            try await replicator.receiveWrite(item, from: from)
        }
    }

    /// This node's whole value of `key`, for a read at majority or all.
    distributed func read(_ key: String) async throws -> StateItem? {
        try await withTaskExecutorPreference(globalConcurrentExecutor) {
            try await replicator.stateItem(key)
        }
    }

    /// Whole values from a peer, for anti-entropy.
    distributed func deliverStates(_ states: [StateItem]) async -> Rejections {
        await withTaskExecutorPreference(globalConcurrentExecutor) {
            await replicator.receive(states)
        }
    }

    /// The XOR of this node's digests, in answer to a peer's: equal totals mean nothing to repair.
    distributed func total(_ theirs: UInt64) async -> UInt64 {
        let from = ClusterSystem.currentCaller
        return await replicator.total(comparing: theirs, from: from)
    }

    /// The pruning ledger: a peer's in, this node's out (`nil` to a caller that is not a peer).
    distributed func pruning(_ envelope: GossipEnvelope<PruningLedger>) async -> GossipEnvelope<PruningLedger>? {
        guard let from = ClusterSystem.currentCaller else { return nil }
        return await replicator.receivePruning(envelope, from: from)
    }

    /// Anti-entropy: compares a peer's digests with this node's.
    distributed func exchange(_ page: DigestPage) async -> DigestAnswer {
        let from = ClusterSystem.currentCaller
        return await withTaskExecutorPreference(globalConcurrentExecutor) {
            await replicator.answer(page, from: from)
        }
    }
}
