/// A CRDT that can shed the entries of a removed replica (a node incarnation that is gone for
/// good), in the three steps of pruning (docs/crdt.md, *Pruning*):
///
/// 1. ``fold(_:into:)``: a change made at the key's pruner. What the removed replica holds moves
///    to the pruner: its count is added to the pruner's, its live adds get fresh dots of the
///    pruner. The value still remembers which changes of the removed replica it has seen (its
///    context, or a fold mark), so a stale copy that turns up is absorbed, not added again.
/// 2. Every replica merges the pruner's change, after which no value anywhere needs folding.
/// 3. ``forget(_:)``: each node drops the last traces (context entries, fold marks). From then on
///    it strips the replica from whatever arrives.
protocol PrunableCRDT: CRDT {
    /// Whether this value holds something of `removed` that must move to a living replica.
    func needsFolding(_ removed: ReplicaID) -> Bool
    /// Moves what `removed` holds to `owner`.
    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID)
    /// Whether any trace of `removed` is left.
    func mentions(_ removed: ReplicaID) -> Bool
    /// Drops every trace of `removed`.
    mutating func forget(_ removed: ReplicaID)
}

extension PNCounter: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool {
        increments.needsFolding(removed) || decrements.needsFolding(removed)
    }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        foldCounters(removed, into: owner)
    }

    func mentions(_ removed: ReplicaID) -> Bool {
        increments.mentions(removed) || decrements.mentions(removed)
    }

    mutating func forget(_ removed: ReplicaID) {
        forgetCounters(removed)
    }
}

extension ORSet: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool {
        context.mentions(removed) && entries.values.contains { $0.contains { $0.replica == removed } }
    }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        retag(removed, into: owner)
    }

    func mentions(_ removed: ReplicaID) -> Bool { context.mentions(removed) }

    mutating func forget(_ removed: ReplicaID) {
        forgetReplica(removed)
    }
}

extension MVRegister: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool {
        entries.keys.contains { $0.replica == removed }
    }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        retag(removed, into: owner)
    }

    func mentions(_ removed: ReplicaID) -> Bool { context.mentions(removed) }

    mutating func forget(_ removed: ReplicaID) {
        forgetReplica(removed)
    }
}

extension ORMap: PrunableCRDT {
    func needsFolding(_ removed: ReplicaID) -> Bool {
        guard context.mentions(removed) else { return false }
        return entries.values.contains { records in
            records.contains { dot, value in
                dot.replica == removed || ((value as? any PrunableCRDT)?.needsFolding(removed) ?? false)
            }
        }
    }

    mutating func fold(_ removed: ReplicaID, into owner: ReplicaID) {
        retag(removed, into: owner)
    }

    func mentions(_ removed: ReplicaID) -> Bool { context.mentions(removed) }

    mutating func forget(_ removed: ReplicaID) {
        forgetReplica(removed)
    }
}
