import Kumo

/// The pruning protocol as a value (docs/crdt.md, *Pruning*): it keeps the ``PruningLedger``,
/// and given which replicators are alive, says what this node must do next. The replicator
/// carries the actions out and reports back; the ledger travels by gossip.
struct Pruner: Sendable {
    /// What this node must do for one removed replica.
    enum Action: Hashable, Sendable {
        /// Send every value that mentions `replica` to its key's pruner, then ``reported(_:epoch:)``.
        case report(ReplicaID, epoch: UInt32)
        /// Fold `replica` into this node in the keys it prunes; once no value held here needs
        /// folding any more, ``folded(_:epoch:)``.
        case fold(ReplicaID, epoch: UInt32)
        /// Drop every trace of `replica`, then ``forgot(_:)``.
        case forget(ReplicaID)
    }

    let me: NodeID
    var ledger = PruningLedger()
    /// Removed nodes this node knows of, by replica, until their record exists.
    private(set) var removed: [ReplicaID: NodeID] = [:]
    /// Replicas forgotten here: whatever arrives is stripped of them.
    private(set) var forgotten: Set<ReplicaID> = []

    init(me: NodeID) {
        self.me = me
    }

    /// `node` left or was downed: its replica is to be pruned.
    mutating func nodeRemoved(_ node: NodeID) {
        let replica = ReplicaID(node)
        if ledger[replica] == nil { removed[replica] = node }
    }

    /// Moves the records this node coordinates and returns what it must do, given the live
    /// replicators (this node included).
    mutating func step(live: Set<NodeID>) -> [Action] {
        let live = live.union([me])
        let lowest = live.min()
        // Start the records of removed nodes (the lowest live node coordinates).
        for (replica, node) in removed {
            if ledger[replica] != nil || live.contains(node) {
                removed.removeValue(forKey: replica)
            } else if lowest == me {
                ledger[replica] = PruningLedger.Record(node: node, epoch: 0, coordinator: me, phase: .collecting, seen: [])
                removed.removeValue(forKey: replica)
            }
        }
        var actions: [Action] = []
        for (replica, record) in ledger.records.sorted(by: { $0.key < $1.key }) {
            var record = record
            if record.phase != .done, !live.contains(record.coordinator), lowest == me {
                record = PruningLedger.Record(node: record.node, epoch: record.epoch + 1, coordinator: me, phase: .collecting, seen: [])
            }
            if record.coordinator == me, record.phase != .done, live.isSubset(of: record.seen) {
                record.phase = record.phase == .collecting ? .folding : .done
                record.seen = []
            }
            ledger[replica] = record
            switch record.phase {
            case .collecting where !record.seen.contains(me): actions.append(.report(replica, epoch: record.epoch))
            case .folding where !record.seen.contains(me): actions.append(.fold(replica, epoch: record.epoch))
            case .done where !forgotten.contains(replica): actions.append(.forget(replica))
            default: break
            }
        }
        return actions
    }

    /// This node sent what it had of `replica` (in `epoch`).
    mutating func reported(_ replica: ReplicaID, epoch: UInt32) {
        markSeen(replica, epoch: epoch, phase: .collecting)
    }

    /// This node holds no value that needs `replica` folded (in `epoch`).
    mutating func folded(_ replica: ReplicaID, epoch: UInt32) {
        markSeen(replica, epoch: epoch, phase: .folding)
    }

    /// This node dropped every trace of `replica`.
    mutating func forgot(_ replica: ReplicaID) {
        forgotten.insert(replica)
    }

    private mutating func markSeen(_ replica: ReplicaID, epoch: UInt32, phase: PruningLedger.Phase) {
        guard var record = ledger[replica], record.epoch == epoch, record.phase == phase else { return }
        record.seen.insert(me)
        ledger[replica] = record
    }
}
