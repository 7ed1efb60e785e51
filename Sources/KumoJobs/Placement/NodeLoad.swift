import Kumo

/// What a node running ``Jobs`` reports of itself: with every reply and when probed.
public struct NodeLoad: Sendable, Codable, Hashable {
    /// Jobs running now.
    public var running: Int
    /// Jobs waiting for a slot under a concurrency cap.
    public var queued: Int
    /// The cost of the jobs running now.
    public var costInUse: ComputationCost
    /// The capacity the node declared.
    public var capacity: ComputationCost
    /// Whether the node takes jobs (it runs ``Jobs`` as a worker and is not leaving).
    public var accepting: Bool

    /// A report.
    public init(running: Int, queued: Int, costInUse: ComputationCost, capacity: ComputationCost, accepting: Bool) {
        self.running = running
        self.queued = queued
        self.costInUse = costInUse
        self.capacity = capacity
        self.accepting = accepting
    }
}
