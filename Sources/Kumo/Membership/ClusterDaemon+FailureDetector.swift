import KumoCore

extension ClusterDaemon {
    /// Answers a probe.
    distributed func ping() -> Bool {
        true
    }

    /// Probes `target` on behalf of another member (SWIM's indirect probe).
    distributed func probe(_ target: NodeID) async -> Bool {
        await directProbe(target)
    }

    /// One probe round: the next member in a shuffled round-robin order is probed directly and,
    /// if it does not answer in time, through `indirectProbes` other members. Only when all fail
    /// is it marked unreachable: one lost packet does not make a member unreachable.
    func probeRound() async {
        guard !stopped, let target = nextProbeTarget() else { return }
        await check(target)
    }

    /// Probes `target` now (also used when its connection drops).
    func check(_ target: NodeID) async {
        var reachable = await directProbe(target)
        if !reachable { reachable = await indirectProbe(target) }
        guard !stopped, isAlive(target) else { return }
        record(target, reachable: reachable)
    }

    /// Records what a probe found of `target`: its reachability here, and the downing clock.
    func record(_ target: NodeID, reachable: Bool) {
        if reachable {
            downing.forget(target)
            if let member = membership.mark(target, .reachable) {
                gossip.setPeer(target, reachable: true)
                log.info("member reachable again", metadata: ["kumo.member": "\(member.name) \(member.node)"])
                publish(.reachable(member))
            }
        } else {
            downing.unreachable(target, at: clock.now)
            if let member = membership.mark(target, .unreachable) {
                gossip.setPeer(target, reachable: false)
                log.info("member unreachable", metadata: ["kumo.member": "\(member.name) \(member.node)"])
                publish(.unreachable(member))
            }
        }
    }

    private func nextProbeTarget() -> NodeID? {
        var random = SystemRandomNumberGenerator()
        return probeOrder.next(
            isAlive: { $0 != me && isAlive($0) }, members: { membership.alive.map(\.node).filter { $0 != me } }, using: &random)
    }

    func directProbe(_ target: NodeID) async -> Bool {
        do {
            let remote = try daemon(on: target)
            messagesSent += 1
            return try await actorSystem.withCallTimeout(settings.probeTimeout) { try await remote.ping() }
        } catch {
            return false
        }
    }

    private func indirectProbe(_ target: NodeID) async -> Bool {
        let helpers = membership.alive
            .filter { $0.node != me && $0.node != target && $0.reachability == .reachable }
            .shuffled().prefix(settings.indirectProbes)
        guard !helpers.isEmpty else { return false }
        let timeout = settings.probeTimeout * 2
        return await withTaskGroup(of: Bool.self) { group in
            for helper in helpers {
                group.addTask {
                    do {
                        let remote = try await self.daemon(on: helper.node)
                        await self.countMessage()
                        return try await self.actorSystem.withCallTimeout(timeout) { try await remote.probe(target) }
                    } catch {
                        return false
                    }
                }
            }
            for await answer in group where answer {
                group.cancelAll()
                return true
            }
            return false
        }
    }

    func countMessage() {
        messagesSent += 1
    }

    /// Applies the downing strategy (``Downing``) to members unreachable for long enough.
    ///
    /// A decision counts on this node's view of who is reachable, and probes visit one member at
    /// a time, so the view of a member not probed for a while may be stale: a node cut off from
    /// everyone could still count an unprobed member as reachable, find itself on the majority
    /// side, and down the others one by one. Before it acts, the node therefore probes every
    /// other voter at once and decides again on what it finds.
    func downUnreachable() async {
        guard downing.decide(membership, now: clock.now) != .wait else { return }
        let others = Downing.voters(of: membership).map(\.node).filter { $0 != me }
        let answers = await withTaskGroup(of: (NodeID, Bool).self) { group in
            for node in others {
                group.addTask { (node, await self.directProbe(node)) }
            }
            var answers: [(NodeID, Bool)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        guard !stopped else { return }
        for (node, reachable) in answers where isAlive(node) {
            record(node, reachable: reachable)
        }
        let now = clock.now
        switch downing.decide(membership, now: now) {
        case .wait:
            return
        case .downSelf(let reason):
            log.error("\(reason); downing itself")
            downReason = reason
            down(me)
        case .down(let nodes):
            for node in nodes {
                guard let member = membership[node] else { continue }
                log.notice(
                    "downing member unreachable for \(downing.unreachableFor(node, at: now) ?? .zero)",
                    metadata: ["kumo.member": "\(member.name) \(node)"])
                down(node)
            }
        }
    }

    /// Marks `node` down by hand (for the manual downing strategy, or an operator).
    func down(_ node: NodeID) {
        guard var member = membership[node], !member.status.isTerminal else { return }
        member.status = .down
        apply(membership.update(member))
    }
}

extension ClusterDaemon {
    /// The connection to `node` closed: probe it now, if it is a member.
    func connectionClosed(_ node: NodeID) async {
        guard !stopped, isAlive(node), node != me else { return }
        await check(node)
    }
}
