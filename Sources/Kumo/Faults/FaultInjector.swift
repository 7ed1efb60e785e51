import KumoCore
import NIOCore
import Synchronization

/// Injects network faults into a node, for tests: it drops or delays what the node *receives*
/// from chosen peers. Give the same injector to every node of a test cluster, or one each.
///
/// ```swift
/// let faults = FaultInjector()
/// settings.faults = faults
/// faults.partition(a.node.address, b.node.address)   // both directions
/// faults.heal()
/// ```
public final class FaultInjector: Sendable {
    /// What happens to frames from one peer to one receiver.
    public struct Rule: Sendable, Hashable {
        /// Probability in 0...1 that a frame is dropped (1 = a partition).
        public var dropProbability: Double
        /// Delay added to every frame that is delivered.
        public var delay: Duration

        public init(dropProbability: Double = 0, delay: Duration = .zero) {
            self.dropProbability = dropProbability
            self.delay = delay
        }
    }

    private struct Link: Hashable {
        var from: NodeAddress
        var to: NodeAddress
    }

    private let rules = Mutex<[Link: Rule]>([:])

    public init() {}

    /// Sets the rule for frames sent by `from` and received by `to`.
    public func set(_ rule: Rule, from: NodeAddress, to: NodeAddress) {
        rules.withLock { $0[Link(from: from, to: to)] = rule }
    }

    /// Drops everything between `a` and `b`, both ways, until ``heal()``.
    public func partition(_ a: NodeAddress, _ b: NodeAddress) {
        set(Rule(dropProbability: 1), from: a, to: b)
        set(Rule(dropProbability: 1), from: b, to: a)
    }

    /// Partitions every node of `side` from every node of `other`.
    public func partition(_ side: [NodeAddress], from other: [NodeAddress]) {
        for a in side { for b in other { partition(a, b) } }
    }

    /// Delays everything between `a` and `b`, both ways.
    public func delay(_ a: NodeAddress, _ b: NodeAddress, by delay: Duration) {
        set(Rule(delay: delay), from: a, to: b)
        set(Rule(delay: delay), from: b, to: a)
    }

    /// Drops a fraction of the frames between `a` and `b`, both ways.
    public func drop(_ a: NodeAddress, _ b: NodeAddress, probability: Double) {
        set(Rule(dropProbability: probability), from: a, to: b)
        set(Rule(dropProbability: probability), from: b, to: a)
    }

    /// Removes every rule.
    public func heal() {
        rules.withLock { $0 = [:] }
    }

    enum Decision {
        case deliver
        case drop
        case delay(TimeAmount)
    }

    func decide(from: NodeAddress, to: NodeAddress) -> Decision {
        guard let rule = rules.withLock({ $0[Link(from: from, to: to)] }) else { return .deliver }
        if rule.dropProbability > 0, Double.random(in: 0..<1) < rule.dropProbability { return .drop }
        if rule.delay > .zero { return .delay(TimeAmount(rule.delay)) }
        return .deliver
    }
}
