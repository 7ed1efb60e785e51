import Kumo

/// The replicator's side of pruning: it gossips the ledger, and carries out what the ``Pruner``
/// says (docs/crdt.md, *Pruning*).
extension Replicator {
    /// One round: exchange ledgers with a peer, then take the next steps.
    func pruningRound() async {
        for exchange in pruningGossip.round(at: clock.now, pruner.ledger) {
            guard let agent = try? agent(on: exchange.peer) else { continue }
            let envelope = exchange.envelope
            do {
                let answer = try await system.withCallTimeout(settings.antiEntropyInterval * 2) { try await agent.pruning(envelope) }
                if let answer {
                    _ = pruningGossip.receiveReply(answer, from: exchange.peer, into: &pruner.ledger)
                } else {
                    pruningGossip.exchangeFailed(with: exchange.peer)
                }
            } catch {
                pruningGossip.exchangeFailed(with: exchange.peer)
            }
        }
        await stepPruning()
    }

    /// A peer's ledger in, this node's out.
    func receivePruning(_ envelope: GossipEnvelope<PruningLedger>, from peer: NodeID) -> GossipEnvelope<PruningLedger> {
        pruningGossip.receive(envelope, from: peer, into: &pruner.ledger).answer
    }

    /// Takes the steps the pruner asks for now.
    func stepPruning() async {
        for action in pruner.step(live: store.peers) {
            switch action {
            case .report(let replica, let epoch):
                if await report(replica) { pruner.reported(replica, epoch: epoch) }
            case .fold(let replica, let epoch):
                if await fold(replica) { pruner.folded(replica, epoch: epoch) }
            case .forget(let replica):
                forget(replica)
                pruner.forgot(replica)
            }
        }
    }

    /// The node that folds a removed replica into itself for `key`: the lowest of its holders
    /// (every node computes the same one).
    func pruner(of key: String) -> NodeID {
        (store.replicaSet(of: key) ?? store.peers.union([system.node])).min() ?? system.node
    }

    /// The keys whose values mention `removed`.
    private func keys(mentioning removed: ReplicaID) -> [String] {
        store.keys.filter { key in (store.value(key) as? any PrunableCRDT)?.mentions(removed) ?? false }
    }

    /// Sends every value that mentions `removed` to its key's pruner; whether all arrived.
    private func report(_ removed: ReplicaID) async -> Bool {
        var byPruner: [NodeID: [String]] = [:]
        for key in keys(mentioning: removed) {
            let target = pruner(of: key)
            if target != system.node { byPruner[target, default: []].append(key) }
        }
        for (target, keys) in byPruner {
            guard let agent = try? agent(on: target) else { return false }
            var next = 0
            while next < keys.count {
                let batch = states(of: keys, from: &next)
                guard !batch.isEmpty else { continue }
                do {
                    let rejected = try await system.withCallTimeout(.seconds(30)) { try await agent.deliverStates(batch) }
                    guard rejected.errors.isEmpty else { return false }
                } catch {
                    logger.debug("pruning: reporting to \(target) failed", metadata: ["error": "\(error)"])
                    return false
                }
            }
        }
        return true
    }

    /// Folds `removed` into this node in the keys it prunes; whether no value held here needs
    /// folding any more (the other keys wait for their pruners' changes).
    private func fold(_ removed: ReplicaID) async -> Bool {
        var waiting = false
        // Keys this node only caches (it does not hold them) get no pruner's change; they are
        // handed to their holders or dropped, and what they carry is absorbed there.
        for key in store.keys where store.isReplica(of: key) {
            guard let value = store.value(key) as? any PrunableCRDT, value.needsFolding(removed) else { continue }
            guard pruner(of: key) == system.node else {
                waiting = true
                continue
            }
            guard let typeName = store.type(of: key), let type = types[typeName], let taken = store.take(key) else { continue }
            guard var folded = taken as? any PrunableCRDT else {
                store.restore(key, taken)
                continue
            }
            folded.fold(removed, into: store.replica)
            // A change made here, sent to the holders like any other: the whole value is its delta.
            let dot = store.applyLocal(key: key, type: type, value: folded, delta: folded)
            notify(key, folded)
            if storage != nil, let bytes = try? encodeCRDT(folded),
               let record = record(DeltaItem(key: key, type: typeName, bytes: bytes, dots: CausalContext(dots: [dot])))
            {
                try? await persist([record])
            }
        }
        if !waiting {
            logger.debug("pruning: nothing of \(removed) left to fold here")
        }
        return !waiting
    }

    /// Drops every trace of `removed` here.
    private func forget(_ removed: ReplicaID) {
        for key in keys(mentioning: removed) {
            store.forget(removed, in: key)
            if let value = store.value(key) { notify(key, value) }
        }
        logger.debug("pruning: forgot \(removed)")
    }

    /// Strips the replicas forgotten here from a value that arrived, and from the changes it says
    /// it covers.
    func stripForgotten(_ value: inout any CRDT, _ context: inout CausalContext) {
        guard !pruner.forgotten.isEmpty else { return }
        for removed in pruner.forgotten {
            if context.mentions(removed) { context.forget(removed) }
            if var prunable = value as? any PrunableCRDT, prunable.mentions(removed) {
                prunable.forget(removed)
                value = prunable
            }
        }
    }
}
