import Kumo
import Testing

@testable import KumoJobs

@Suite("Placement, as a value")
struct PlacementTests {
    static let local = NodeID(address: NodeAddress(host: "127.0.0.1", port: 1), incarnation: 1)
    static let nodes = (2...4).map { NodeID(address: NodeAddress(host: "127.0.0.1", port: $0), incarnation: UInt64($0)) }
    static let start = ContinuousClock.now

    static func load(running: Int = 0, queued: Int = 0, inUse: Double = 0, capacity: Double = 4, accepting: Bool = true) -> NodeLoad {
        NodeLoad(
            running: running, queued: queued, costInUse: ComputationCost(units: inUse),
            capacity: ComputationCost(units: capacity), accepting: accepting)
    }

    static func placement(_ loads: [NodeLoad]) -> Placement {
        var placement = Placement(local: local, seed: 42)
        for (node, load) in zip(nodes, loads) { placement.report(load, from: node, at: start) }
        return placement
    }

    @Test("round-robin takes each node in turn")
    func roundRobin() {
        var placement = Self.placement([Self.load(), Self.load(), Self.load()])
        let chosen = (0..<9).compactMap { _ in placement.choose(.roundRobin, cost: .light, at: Self.start) }
        #expect(chosen == Self.nodes + Self.nodes + Self.nodes)
    }

    @Test("random spreads over every node, reproducibly for a seed")
    func random() {
        var first = Self.placement([Self.load(), Self.load(), Self.load()])
        var second = Self.placement([Self.load(), Self.load(), Self.load()])
        let a = (0..<300).compactMap { _ in first.choose(.random, cost: .light, at: Self.start) }
        let b = (0..<300).compactMap { _ in second.choose(.random, cost: .light, at: Self.start) }
        #expect(a == b)
        for node in Self.nodes { #expect(a.filter { $0 == node }.count > 60) }
    }

    @Test("least-loaded picks the node with the fewest jobs, counting this node's calls since the report")
    func leastLoaded() {
        var placement = Self.placement([Self.load(running: 5), Self.load(running: 1), Self.load(running: 3)])
        #expect(placement.choose(.leastLoaded, cost: .light, at: Self.start) == Self.nodes[1])
        // Three calls sent to the second node make it the busiest but one.
        placement.sent(3, cost: .light, to: Self.nodes[1])
        #expect(placement.choose(.leastLoaded, cost: .light, at: Self.start) == Self.nodes[2])
        // A report that includes those calls does not count them twice.
        placement.report(Self.load(running: 4), from: Self.nodes[1], at: Self.start)
        placement.returned(3, cost: .light, from: Self.nodes[1])
        #expect(placement.workers[Self.nodes[1]]?.estimatedLoad == 1)
    }

    @Test("a stale report counts as an idle node")
    func stale() {
        var placement = Self.placement([Self.load(running: 9), Self.load(running: 2), Self.load(running: 3)])
        let later = Self.start + .seconds(60)
        placement.report(Self.load(running: 2), from: Self.nodes[1], at: later)
        placement.report(Self.load(running: 3), from: Self.nodes[2], at: later)
        #expect(placement.choose(.leastLoaded, cost: .light, at: later) == Self.nodes[0])
    }

    @Test("cost-aware sends heavy work where it fits, and where there is most room when nothing fits")
    func costAware() {
        var placement = Self.placement([
            Self.load(inUse: 3.5, capacity: 4), Self.load(inUse: 0, capacity: 2), Self.load(inUse: 1, capacity: 8),
        ])
        #expect(placement.choose(.costAware, cost: .heavy, at: Self.start) == Self.nodes[2])
        placement.sent(6, cost: .heavy, to: Self.nodes[2])
        // Room: 0.5, 2, 1; a heavy job fits only on the second.
        #expect(placement.choose(.costAware, cost: .heavy, at: Self.start) == Self.nodes[1])
        // Nothing has room for 10 units: the most room wins.
        #expect(placement.choose(.costAware, cost: ComputationCost(units: 10), at: Self.start) == Self.nodes[1])
    }

    @Test("pinned and local placements, exclusions, and nodes that do not accept jobs")
    func pinnedLocalExcluded() {
        var placement = Self.placement([Self.load(), Self.load(accepting: false), Self.load()])
        #expect(placement.candidates == [Self.nodes[0], Self.nodes[2]])
        #expect(placement.choose(.pinned(Self.nodes[1]), cost: .light, at: Self.start) == Self.nodes[1])
        #expect(placement.choose(.local, cost: .light, at: Self.start) == Self.local)
        #expect(placement.choose(.roundRobin, cost: .light, excluding: [Self.nodes[0]], at: Self.start) == Self.nodes[2])
        #expect(placement.choose(.leastLoaded, cost: .light, excluding: Set(Self.nodes), at: Self.start) == nil)
        placement.remove(Self.nodes[0])
        #expect(placement.candidates == [Self.nodes[2]])
    }
}

@Suite("Concurrency caps and retries, as values")
struct LimiterAndRetryTests {
    @Test("a cap admits up to its limit, queues up to its bound, refuses beyond, and hands slots on in order")
    func limiter() {
        var state = LimiterState<String>(limit: 2, queueLimit: 2)
        let ids = (0..<5).map { _ in state.makeID() }
        #expect(state.admit(ids[0], "a") == .run)
        #expect(state.admit(ids[1], "b") == .run)
        #expect(state.admit(ids[2], "c") == .wait)
        #expect(state.admit(ids[3], "d") == .wait)
        #expect(state.admit(ids[4], "e") == .refuse)
        #expect(state.release() == "c")
        #expect(state.running == 2)
        #expect(state.cancel(ids[3], admitted: false) == "d")
        #expect(state.release() == nil)
        #expect(state.running == 1)
        // A cancellation that comes before its admission is remembered.
        let late = state.makeID()
        #expect(state.cancel(late, admitted: false) == nil)
        #expect(state.admit(late, "f") == .cancelled)
    }

    @Test("retries back off exponentially up to the cap, and only idempotent jobs retry")
    func retries() {
        let policy = RetryPolicy(retries: 5, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50))
        #expect((1...5).map { policy.backoff(before: $0) } == [.milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(50), .milliseconds(50)])
        #expect(JobOptions(idempotent: false, retry: policy).effectiveRetries == 0)
        #expect(JobOptions(idempotent: true, retry: policy).effectiveRetries == 5)
        #expect(JobOptions(idempotent: true).effectiveRetries == 2)
    }

    @Test("a node failure is retried elsewhere for an idempotent job, and fails naming job and node otherwise")
    func retryState() {
        let node = PlacementTests.nodes[0]
        let lost = AttemptResult.nodeFailed(JobError(.nodeLost, job: "j", node: node, "node lost"))
        var idempotent = RetryState()
        guard case .again = idempotent.next(after: lost, on: node, options: JobOptions(idempotent: true)) else {
            Issue.record("an idempotent job is retried")
            return
        }
        #expect(idempotent.excluded == [node])
        var once = RetryState()
        guard case .done(.failure(let error)) = once.next(after: lost, on: node, options: JobOptions()) else {
            Issue.record("a job that is not idempotent is not retried")
            return
        }
        let jobError = error as? JobError
        #expect(jobError?.code == .nodeLost)
        #expect(jobError?.node == node)
        #expect(jobError?.message.contains("not idempotent") == true)
        // Refusals never use up a retry and go elsewhere.
        var refused = RetryState()
        let full = AttemptResult.neverRan(JobError(.overloaded, job: "j", node: node, "full"))
        guard case .again = refused.next(after: full, on: node, options: JobOptions()) else {
            Issue.record("a refused call goes elsewhere")
            return
        }
        #expect(refused.noNodeLeft() != nil)
        #expect(refused.excluded.isEmpty)
    }
}
