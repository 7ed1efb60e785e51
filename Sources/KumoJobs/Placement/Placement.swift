import Kumo

/// The placement decision as a value: the nodes that run jobs, what each last reported, what
/// this node has sent each since, and the strategies' own state (a round-robin cursor, a random
/// generator). No I/O and no clock of its own: the time comes in with every call, so it is
/// tested alone.
struct Placement: Sendable {
    struct Worker: Sendable {
        var load: NodeLoad
        var reportedAt: ContinuousClock.Instant
        /// Jobs and their cost that this node has in flight on the worker now.
        var outstanding = 0
        var outstandingCost = ComputationCost(units: 0)
        /// What of the report was this node's own, when it came.
        var outstandingAtReport = 0
        var outstandingCostAtReport = ComputationCost(units: 0)

        /// Jobs on the worker now, by the report and this node's calls since.
        var estimatedLoad: Int {
            max(0, load.running + load.queued - outstandingAtReport) + outstanding
        }

        /// Capacity left on the worker now, by the report and this node's calls since.
        var room: Double {
            let others = max(0, load.costInUse.units - outstandingCostAtReport.units)
            return load.capacity.units - others - outstandingCost.units
        }
    }

    let local: NodeID
    /// Reports older than this are ignored by the load-aware strategies (the node counts as
    /// idle but for this node's own calls).
    var staleAfter: Duration
    private(set) var workers: [NodeID: Worker] = [:]
    private var cursor = 0
    private var random: SplitMix64

    init(local: NodeID, staleAfter: Duration = .seconds(5), seed: UInt64) {
        self.local = local
        self.staleAfter = staleAfter
        self.random = SplitMix64(seed: seed)
    }

    /// The nodes that take jobs now, in a stable order.
    var candidates: [NodeID] {
        workers.filter { $0.value.load.accepting }.keys.sorted()
    }

    /// Records a report from `node`.
    mutating func report(_ load: NodeLoad, from node: NodeID, at now: ContinuousClock.Instant) {
        var worker = workers[node] ?? Worker(load: load, reportedAt: now)
        worker.load = load
        worker.reportedAt = now
        worker.outstandingAtReport = worker.outstanding
        worker.outstandingCostAtReport = worker.outstandingCost
        workers[node] = worker
    }

    /// Forgets `node` (it left, died, or does not run jobs).
    mutating func remove(_ node: NodeID) {
        workers.removeValue(forKey: node)
    }

    /// Chooses the node for `count` jobs of `cost` each, leaving out `excluded`; `nil` when no
    /// node qualifies. Pinned placement returns its node whether or not it reported.
    mutating func choose(
        _ strategy: PlacementStrategy, cost: ComputationCost, count: Int = 1, excluding excluded: Set<NodeID> = [],
        at now: ContinuousClock.Instant
    ) -> NodeID? {
        switch strategy.kind {
        case .pinned(let node):
            return excluded.contains(node) ? nil : node
        case .local:
            return excluded.contains(local) ? nil : local
        default:
            break
        }
        let nodes = candidates.filter { !excluded.contains($0) }
        guard !nodes.isEmpty else { return nil }
        switch strategy.kind {
        case .roundRobin:
            defer { cursor &+= 1 }
            return nodes[cursor % nodes.count]
        case .random:
            return nodes[Int(random.next() % UInt64(nodes.count))]
        case .leastLoaded:
            return pickMin(nodes, now: now) { Double($0.estimatedLoad) }
        case .costAware:
            let needed = (cost * count).units
            let fitting = nodes.filter { fresh(workers[$0], now: now)?.room ?? 0 >= needed }
            // Most room first; where nothing fits, still the node with the most room.
            return pickMin(fitting.isEmpty ? nodes : fitting, now: now) { -$0.room }
        case .local, .pinned:
            return nil
        }
    }

    /// The node with the lowest `score`, ties broken by rotating through them so equal nodes
    /// share the work.
    private mutating func pickMin(_ nodes: [NodeID], now: ContinuousClock.Instant, score: (Worker) -> Double) -> NodeID? {
        var best: [NodeID] = []
        var bestScore = Double.infinity
        for node in nodes {
            guard let worker = workers[node] else { continue }
            let value = score(fresh(worker, now: now) ?? worker)
            if value < bestScore {
                bestScore = value
                best = [node]
            } else if value == bestScore {
                best.append(node)
            }
        }
        guard !best.isEmpty else { return nil }
        defer { cursor &+= 1 }
        return best[cursor % best.count]
    }

    /// The worker as load-aware strategies see it: a stale report counts as an idle node.
    private func fresh(_ worker: Worker?, now: ContinuousClock.Instant) -> Worker? {
        guard var worker else { return nil }
        if now - worker.reportedAt > staleAfter {
            worker.load.running = 0
            worker.load.queued = 0
            worker.load.costInUse = ComputationCost(units: 0)
            worker.outstandingAtReport = 0
            worker.outstandingCostAtReport = ComputationCost(units: 0)
        }
        return worker
    }

    /// Counts `count` jobs of `cost` each as sent to `node`.
    mutating func sent(_ count: Int, cost: ComputationCost, to node: NodeID) {
        guard var worker = workers[node] else { return }
        worker.outstanding += count
        worker.outstandingCost = worker.outstandingCost + cost * count
        workers[node] = worker
    }

    /// Counts `count` jobs of `cost` each sent to `node` as returned.
    mutating func returned(_ count: Int, cost: ComputationCost, from node: NodeID) {
        guard var worker = workers[node] else { return }
        worker.outstanding = max(0, worker.outstanding - count)
        worker.outstandingCost = ComputationCost(units: worker.outstandingCost.units - (cost * count).units)
        workers[node] = worker
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64), so random placement
/// is reproducible in tests.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
