import HeapModule
import KumoCore

/// The membership logic of many nodes, run in one thread over an in-memory transport with
/// virtual time: the same ``Membership`` merge rules, ``GossipEngine`` rounds and ``Downing``
/// decisions as a real node, with messages that take a random latency and a node that can crash.
///
/// Nodes join through node 0 at random moments within ``Settings/joinSpread``; the run reports
/// when every node sees every node up, the membership messages each node sends per second once
/// they do (counted as a real node counts them: gossip exchanges, probes, joins), and, after one
/// node crashes, when every other node has marked it down. `kumo-bench membership --simulated`
/// prints it; the tests run it small.
package struct MembershipSimulation {
    package typealias Instant = ContinuousClock.Instant

    /// What to simulate.
    package struct Settings: Sendable {
        /// How many nodes.
        package var nodes: Int
        /// The nodes' membership settings (gossip and probe intervals, probe timeout, downing).
        package var membership = MembershipSettings()
        /// How long a message takes, drawn uniformly from this range.
        package var latency: ClosedRange<Duration> = .microseconds(200) ... .milliseconds(2)
        /// Nodes join at random moments within this span from the start.
        package var joinSpread: Duration = .seconds(1)
        /// The steady state over which traffic is measured.
        package var window: Duration = .seconds(10)
        /// Whether to crash a node after the window and measure its detection.
        package var crash = true
        /// Virtual time after which a run that has not got there gives up.
        package var limit: Duration = .seconds(600)
        /// Makes the run reproducible.
        package var seed: UInt64 = 1

        package init(nodes: Int) {
            self.nodes = nodes
        }
    }

    /// What a run found.
    package struct Report: Sendable {
        /// From the start until every node saw every node up (virtual time).
        package var converge: Duration
        /// From the crash until every other node marked the crashed one down (nil: no crash, or
        /// not within the limit).
        package var detect: Duration?
        /// Membership messages each node sent per second in the steady state.
        package var messagesPerNodePerSecond: Double
        /// Of those, the gossip exchanges that carried a whole view rather than a digest.
        package var viewsPerNodePerSecond: Double
        /// Events processed (a measure of the simulation's own work).
        package var events: Int
    }

    /// Why a run failed.
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    package static func run(_ settings: Settings) throws -> Report {
        var world = World(settings)
        return try world.run()
    }
}

extension MembershipSimulation {
    fileprivate enum Event {
        case join(Int)
        case admit(joiner: Int)
        case admitted(Int, Membership)
        case gossipRound(Int)
        case gossip(from: Int, to: Int, MembershipEnvelope)
        case gossipAnswer(from: Int, to: Int, MembershipEnvelope)
        case gossipFailed(from: Int, to: Int)
        case probeRound(Int)
        case probeResult(Int, target: NodeID, reachable: Bool)
        case downCheck(Int, answers: [(NodeID, Bool)])
    }

    fileprivate struct Scheduled: Comparable {
        var at: Instant
        var sequence: Int
        var event: Event

        static func < (lhs: Scheduled, rhs: Scheduled) -> Bool {
            (lhs.at, lhs.sequence) < (rhs.at, rhs.sequence)
        }

        static func == (lhs: Scheduled, rhs: Scheduled) -> Bool {
            lhs.at == rhs.at && lhs.sequence == rhs.sequence
        }
    }

    fileprivate struct Node {
        let id: NodeID
        var membership = Membership()
        var gossip: GossipEngine
        var downing: Downing
        var probeOrder = ProbeOrder()
        var alive = true
        /// Members up in this node's view.
        var upCount = 0

        mutating func receive(_ envelope: MembershipEnvelope, from peer: NodeID) -> (MembershipEnvelope, [Membership.Change]?) {
            let (answer, changes) = gossip.receive(envelope, from: peer, into: &membership)
            return (answer, changes)
        }

        mutating func receiveReply(_ envelope: MembershipEnvelope, from peer: NodeID) -> [Membership.Change]? {
            gossip.receiveReply(envelope, from: peer, into: &membership)
        }

        func ownRecord(_ status: MemberStatus, upNumber: UInt64 = 0) -> Member {
            Member(node: id, name: "n\(id.address.port)", status: status, upNumber: upNumber)
        }
    }

    fileprivate struct World {
        let settings: Settings
        let start: Instant
        var now: Instant
        var nodes: [Node] = []
        var index: [NodeID: Int] = [:]
        var queue = Heap<Scheduled>()
        var sequence = 0
        var random: SplitMix64
        var events = 0
        /// Nodes that see every node up.
        var converged = 0
        /// Messages sent, and whole views gossiped.
        var messages: UInt64 = 0
        var views: UInt64 = 0
        var victim: NodeID?
        /// Live nodes that have marked the victim down.
        var downSeen = 0

        init(_ settings: Settings) {
            self.settings = settings
            self.start = ContinuousClock.now
            self.now = start
            self.random = SplitMix64(seed: settings.seed)
            for number in 0..<settings.nodes {
                let id = NodeID(address: NodeAddress(host: "10.0.0.1", port: 10_000 + number), incarnation: 1)
                let node = Node(
                    id: id,
                    gossip: GossipEngine(
                        me: id, settings: .init(interval: settings.membership.gossipInterval), now: start,
                        seed: settings.seed &+ UInt64(number) &* 7919),
                    downing: Downing(strategy: settings.membership.downing, me: id))
                nodes.append(node)
                index[id] = number
            }
        }

        mutating func run() throws -> Report {
            let n = settings.nodes
            apply(nodes[0].membership.update(nodes[0].ownRecord(.up, upNumber: 1)), at: 0)
            for number in 1..<max(n, 1) {
                apply(nodes[number].membership.update(nodes[number].ownRecord(.joining)), at: number)
                schedule(.join(number), after: settings.joinSpread * unit())
            }
            for number in 0..<n {
                schedule(.gossipRound(number), at: nodes[number].gossip.nextRound)
                schedule(.probeRound(number), after: pause(settings.membership.probeInterval))
            }
            try advance(until: "every node sees every node up") { $0.converged == n }
            let converge = now - start

            let (sent, gossiped) = (messages, views)
            let windowStart = now
            try advance(until: "the end of the window") { $0.now >= windowStart + $0.settings.window }
            let elapsed = seconds(now - windowStart)
            let perNode = Double(messages - sent) / Double(n) / elapsed
            let viewsPerNode = Double(views - gossiped) / Double(n) / elapsed

            var detect: Duration?
            if settings.crash, n >= 3 {
                let number = n / 2
                nodes[number].alive = false
                victim = nodes[number].id
                let crashed = now
                try advance(until: "every node marks the crashed one down") { $0.downSeen == n - 1 }
                detect = now - crashed
            }
            return Report(
                converge: converge, detect: detect, messagesPerNodePerSecond: perNode, viewsPerNodePerSecond: viewsPerNode,
                events: events)
        }

        // MARK: The event loop

        mutating func advance(until what: String, _ done: (World) -> Bool) throws {
            while !done(self) {
                guard let next = queue.popMin() else { throw Failure(description: "nothing left to happen before \(what)") }
                guard next.at - start <= settings.limit else {
                    throw Failure(description: "\(what) did not happen within \(settings.limit) of virtual time")
                }
                now = next.at
                events += 1
                handle(next.event)
            }
        }

        mutating func schedule(_ event: Event, at instant: Instant) {
            sequence += 1
            queue.insert(Scheduled(at: instant, sequence: sequence, event: event))
        }

        mutating func schedule(_ event: Event, after delay: Duration) {
            schedule(event, at: now + delay)
        }

        mutating func unit() -> Double {
            Double(random.next() >> 11) / Double(1 << 53)
        }

        mutating func latency() -> Duration {
            settings.latency.lowerBound + (settings.latency.upperBound - settings.latency.lowerBound) * unit()
        }

        mutating func pause(_ interval: Duration) -> Duration {
            interval * (0.8 + 0.4 * unit())
        }

        mutating func handle(_ event: Event) {
            switch event {
            case .join(let number):
                guard nodes[number].alive else { return }
                messages += 1
                schedule(.admit(joiner: number), after: latency())
            case .admit(let joiner):
                guard nodes[0].alive, let own = nodes[joiner].membership[nodes[joiner].id] else { return }
                apply(nodes[0].membership.admit(own), at: 0)
                schedule(.admitted(joiner, nodes[0].membership), after: latency())
            case .admitted(let number, let view):
                var changes = nodes[number].membership.merge(view)
                if let own = nodes[number].membership[nodes[number].id], own.status == .joining {
                    let upNumber = nodes[number].membership.highestUpNumber + 1
                    changes += nodes[number].membership.update(nodes[number].ownRecord(.up, upNumber: upNumber))
                }
                apply(changes, at: number)
            case .gossipRound(let number):
                gossipRound(number)
            case .gossip(let from, let to, let envelope):
                guard nodes[to].alive else {
                    schedule(.gossipFailed(from: from, to: to), after: settings.membership.probeTimeout * 2)
                    return
                }
                let (answer, changes) = nodes[to].receive(envelope, from: nodes[from].id)
                if let changes { apply(changes, at: to) }
                if answer.message != nil { views += 1 }
                schedule(.gossipAnswer(from: to, to: from, answer), after: latency())
            case .gossipAnswer(let from, let to, let envelope):
                guard nodes[to].alive else { return }
                if let changes = nodes[to].receiveReply(envelope, from: nodes[from].id) {
                    apply(changes, at: to)
                }
            case .gossipFailed(let from, let to):
                nodes[from].gossip.exchangeFailed(with: nodes[to].id)
            case .probeRound(let number):
                probeRound(number)
            case .probeResult(let number, let target, let reachable):
                guard nodes[number].alive else { return }
                if nodes[number].membership[target].map({ !$0.status.isTerminal }) == true {
                    record(target, reachable: reachable, at: number)
                }
                downUnreachable(number)
            case .downCheck(let number, let answers):
                guard nodes[number].alive else { return }
                for (node, reachable) in answers where nodes[number].membership[node].map({ !$0.status.isTerminal }) == true {
                    record(node, reachable: reachable, at: number)
                }
                switch nodes[number].downing.decide(nodes[number].membership, now: now) {
                case .wait, .downSelf:
                    break
                case .down(let downed):
                    for node in downed {
                        guard var member = nodes[number].membership[node], !member.status.isTerminal else { continue }
                        member.status = .down
                        apply(nodes[number].membership.update(member), at: number)
                    }
                }
                schedule(.probeRound(number), after: pause(settings.membership.probeInterval))
            }
        }

        // MARK: What a node does

        mutating func gossipRound(_ number: Int) {
            guard nodes[number].alive else { return }
            let exchanges = nodes[number].gossip.round(at: now, nodes[number].membership)
            schedule(.gossipRound(number), at: nodes[number].gossip.nextRound)
            guard nodes[number].membership[nodes[number].id]?.status == .up else { return }
            for exchange in exchanges {
                guard let to = index[exchange.peer] else { continue }
                messages += 1
                if exchange.envelope.message != nil { views += 1 }
                schedule(.gossip(from: number, to: to, exchange.envelope), after: latency())
            }
        }

        /// SWIM as a real node does it: the next member in a shuffled order is probed directly,
        /// then through up to `indirectProbes` others; the round ends when the answer is in.
        mutating func probeRound(_ number: Int) {
            guard nodes[number].alive else { return }
            guard let target = nextProbeTarget(number), let targetNumber = index[target] else {
                schedule(.probeRound(number), after: pause(settings.membership.probeInterval))
                return
            }
            messages += 1
            if nodes[targetNumber].alive {
                schedule(.probeResult(number, target: target, reachable: true), after: latency() + latency())
                return
            }
            let me = nodes[number].id
            let helpers = nodes[number].membership.alive
                .filter { $0.node != me && $0.node != target && $0.reachability == .reachable }
                .prefix(settings.membership.indirectProbes)
            // The requester asks each helper, and each helper pings the target.
            messages += UInt64(helpers.count) * 2
            let waited = settings.membership.probeTimeout + (helpers.isEmpty ? .zero : settings.membership.probeTimeout * 2)
            schedule(.probeResult(number, target: target, reachable: false), after: waited)
        }

        mutating func nextProbeTarget(_ number: Int) -> NodeID? {
            let me = nodes[number].id
            let membership = nodes[number].membership
            return nodes[number].probeOrder.next(
                isAlive: { $0 != me && membership[$0].map { !$0.status.isTerminal } == true },
                members: { membership.alive.map(\.node).filter { $0 != me } }, using: &random)
        }

        mutating func record(_ target: NodeID, reachable: Bool, at number: Int) {
            if reachable {
                nodes[number].downing.forget(target)
                if nodes[number].membership.mark(target, .reachable) != nil { nodes[number].gossip.setPeer(target, reachable: true) }
            } else {
                nodes[number].downing.unreachable(target, at: now)
                if nodes[number].membership.mark(target, .unreachable) != nil { nodes[number].gossip.setPeer(target, reachable: false) }
            }
        }

        /// As a real node: before acting on a decision, probe every other voter at once.
        mutating func downUnreachable(_ number: Int) {
            guard nodes[number].downing.decide(nodes[number].membership, now: now) != .wait else {
                schedule(.probeRound(number), after: pause(settings.membership.probeInterval))
                return
            }
            let me = nodes[number].id
            let voters = Downing.voters(of: nodes[number].membership).map(\.node).filter { $0 != me }
            messages += UInt64(voters.count)
            let answers = voters.map { node in (node, index[node].map { nodes[$0].alive } ?? false) }
            let anyDead = answers.contains { !$0.1 }
            schedule(.downCheck(number, answers: answers), after: anyDead ? settings.membership.probeTimeout : latency() + latency())
        }

        /// What a real node's agent does with membership changes that matter here: keep the
        /// gossip peers, the downing clocks and the counts the run waits on.
        mutating func apply(_ changes: [Membership.Change], at number: Int) {
            let me = nodes[number].id
            let total = settings.nodes
            for change in changes {
                let member = change.member
                if member.node != me {
                    if change.previous == nil, !member.status.isTerminal { nodes[number].probeOrder.insert(member.node, using: &random) }
                    if member.status.isTerminal {
                        nodes[number].gossip.removePeer(member.node)
                        nodes[number].downing.forget(member.node)
                    } else {
                        nodes[number].gossip.setPeer(member.node, reachable: member.reachability == .reachable)
                    }
                }
                let wasConverged = nodes[number].upCount == total
                if change.previous == .up { nodes[number].upCount -= 1 }
                if member.status == .up { nodes[number].upCount += 1 }
                let isConverged = nodes[number].upCount == total
                if isConverged != wasConverged { converged += isConverged ? 1 : -1 }
                if member.node == victim, member.status.isTerminal, change.previous.map({ !$0.isTerminal }) ?? true,
                   nodes[number].alive
                {
                    downSeen += 1
                }
            }
        }

        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
    }
}
