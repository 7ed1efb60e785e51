/// A replicated value that every replica may change on its own and that always converges: a
/// join-semilattice. ``merge(_:)`` is commutative, associative and idempotent, so replicas that
/// have seen the same updates, in any order and any number of times, hold equal values.
///
/// Every change returns a *delta*: a small value of the same type holding just that change, so
/// that merging the delta does what the change did (delta-state CRDTs: Almeida, Shoker and
/// Baquero, 2018). Replication sends deltas, and whole values only to catch a replica up.
public protocol CRDT: Codable, Sendable, Equatable {
    /// The bottom of the lattice: the value no replica has changed.
    init()

    /// Joins `other` into this value.
    mutating func merge(_ other: Self)
}

extension CRDT {
    /// This value joined with `other`.
    public func merging(_ other: Self) -> Self {
        var joined = self
        joined.merge(other)
        return joined
    }
}
