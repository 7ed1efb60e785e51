import KumoCore

/// What nodes exchange in a gossip round: a digest of their membership views, and the view
/// itself unless the two are known to agree (``GossipEngine``).
typealias MembershipEnvelope = GossipEnvelope<Membership>

extension ClusterDaemon {
    /// A joining node asks a seed (or the control node) to let it in; the answer is the seed's
    /// view, in which the joiner is up.
    distributed func join(_ member: Member) throws -> Membership {
        guard let caller = ClusterSystem.currentCaller, caller == member.node else {
            log.warning("refused a join whose member \(member.node) is not the caller \(String(describing: ClusterSystem.currentCaller))")
            throw ClusterError(.protocolError, "a node may only join as itself", node: me)
        }
        // A node that is down (or gone) takes nobody into a cluster it is no longer part of:
        // it says so, and the joiner looks elsewhere.
        if let myself, myself.status.isTerminal || stopped {
            log.info("refused a join from \(member.name) \(member.node): this node is \(myself.status)")
            if myself.status == .down {
                throw ClusterError(
                    .downed,
                    "seed \(myName) \(me.address) was downed by its cluster and takes no joins; restart it, or join through another seed",
                    node: me)
            }
            throw ClusterError(.shuttingDown, "seed \(myName) \(me.address) is \(myself.status) and takes no joins", node: me)
        }
        if forgotten[member.node] != nil {
            throw ClusterError(.nodeGone, "\(member.node) was down or left; restart to join as a new incarnation", node: me)
        }
        if let known = membership[member.node], known.status.isTerminal {
            throw ClusterError(.nodeGone, "\(member.node) was \(known.status); restart to join as a new incarnation", node: me)
        }
        apply(membership.admit(member))
        return membership
    }

    /// One push–pull exchange: the caller's view in, this node's merged view out.
    ///
    /// A stopped node (down or shut down) takes nothing and tells only where it stands itself: its
    /// verdicts on others are stale. A node left alone tells a caller that downed it in turn that
    /// the caller is down only when the caller's address is higher than its own: two nodes that
    /// downed each other, each alone, may ask each other where they stand (``askWhereIStand(_:)``)
    /// at the same moment, and exactly one of them must go down, not both.
    distributed func gossip(_ envelope: MembershipEnvelope) -> MembershipEnvelope? {
        guard let caller = ClusterSystem.currentCaller else { return nil }
        if stopped {
            guard let myself, myself.status.isTerminal else { return nil }
            return full(ownRecord(myself))
        }
        // Two nodes that downed each other, each alone, ask each other where they stand with
        // nothing but their own record (``askWhereIStand(_:)``). Only such an ask goes unanswered
        // by the lower address; a node downed by hand, which downed nobody and gossips its whole
        // view, is told its verdict at once.
        let alone = membership.alive.allSatisfy { $0.node == me }
        let asking = envelope.message.map { $0.members.count == 1 && $0[caller] != nil } ?? false
        if alone, asking, caller.address < me.address, let myself,
           forgotten[caller] != nil || membership[caller].map({ $0.status.isTerminal }) == true
        {
            log.info("ignored gossip from \(caller), which is down here; both are alone and it has the lower address")
            return full(ownRecord(myself))
        }
        if forgotten[caller] != nil {
            log.info("ignored gossip from \(caller), which was down or left and is forgotten here")
            var verdict = Membership()
            verdict.update(Member(node: caller, name: "", status: .down))
            return full(verdict)
        }
        if let known = membership[caller], known.status.isTerminal {
            // Take nothing from it, but tell it where it stands, so a downed node learns it.
            log.info("ignored gossip from \(caller), which is \(known.status) here")
            return full(membership)
        }
        if membership[caller] == nil, envelope.message?[caller].map({ $0.status.isTerminal }) ?? true {
            log.info("ignored gossip from \(caller), which is not a member")
            return nil
        }
        let (answer, changes) = gossip.receive(withoutForgotten(envelope), from: caller, into: &membership)
        if let changes { apply(changes) }
        return answer
    }

    /// An envelope that carries `view` whatever the other side has.
    func full(_ view: Membership) -> MembershipEnvelope {
        MembershipEnvelope(digest: view.digest, message: view)
    }

    /// `envelope` without the members forgotten here, which must never come back.
    func withoutForgotten(_ envelope: MembershipEnvelope) -> MembershipEnvelope {
        guard !forgotten.isEmpty, let view = envelope.message, view.members.keys.contains(where: { forgotten[$0] != nil }) else {
            return envelope
        }
        return MembershipEnvelope(digest: envelope.digest, message: view.removing { forgotten[$0] != nil })
    }

    /// Merges a view a seed answered with.
    func merge(_ view: Membership) {
        apply(membership.merge(view) { forgotten[$0] != nil })
    }

    /// One gossip round: join through the seeds while not a member, else exchange views with one
    /// random member.
    func gossipRound() async {
        guard !stopped, let myself else { return }
        // The engine decides when and with whom; its schedule moves on in every round.
        let exchanges = gossip.round(at: clock.now, membership)
        if myself.status == .joining {
            await joinThroughSeeds()
            return
        }
        let others = membership.alive.filter { $0.node != me }
        if others.isEmpty {
            // Alone: keep looking, so a restarted seed or a node found later merges in.
            if !discovery.isEmpty { await joinThroughSeeds() }
            // Every other member is down here. Under timeout downing that is also what a node cut
            // off on its own concludes of the others, which meanwhile downed *it* and so never
            // contact it again: now and then, ask one of them where this node stands. While the
            // asks fail (the partition may heal any moment) it asks every second; once they are
            // answered without a verdict, ever more rarely.
            let now = clock.now
            if !stopped, nextAskAt.map({ now >= $0 }) ?? true {
                let downed = membership.members.values.filter { $0.node != me && $0.status == .down }.map(\.node)
                if let peer = (downed + forgotten.keys).randomElement() {
                    if await askWhereIStand(peer) {
                        askInterval = min(max(askInterval * 2, Self.failedAskInterval), Self.maximumAskInterval)
                    } else {
                        askInterval = Self.failedAskInterval
                    }
                    nextAskAt = now + askInterval
                }
            }
            return
        }
        askInterval = .zero
        nextAskAt = nil
        for exchange in exchanges {
            await self.exchange(exchange.envelope, with: exchange.peer)
        }
    }

    /// Sends `envelope` to `node`'s agent and merges the answer.
    func exchange(_ envelope: MembershipEnvelope, with node: NodeID) async {
        do {
            let remote = try daemon(on: node)
            messagesSent += 1
            let reply = try await actorSystem.withCallTimeout(settings.probeTimeout * 2) {
                try await remote.gossip(envelope)
            }
            guard !stopped, let reply else { return }
            if let changes = gossip.receiveReply(withoutForgotten(reply), from: node, into: &membership) { apply(changes) }
        } catch {
            gossip.exchangeFailed(with: node)
            log.trace("gossip with \(node) failed: \(error)")
        }
    }

    /// The longest pause between the questions of a node left alone.
    static let maximumAskInterval: Duration = .seconds(30)
    /// The pause after a question that got no answer.
    static let failedAskInterval: Duration = .seconds(1)

    /// Pull-only gossip with a member this node has downed (or forgotten): it sends only its own
    /// record, so its verdicts on others do not spread, and takes from the answer only a verdict
    /// that this node is down. A node downed there goes down here too once the two can talk
    /// again. Returns whether the member answered.
    func askWhereIStand(_ node: NodeID) async -> Bool {
        guard let myself else { return false }
        do {
            let remote = try daemon(on: node)
            messagesSent += 1
            let envelope = full(ownRecord(myself))
            let reply = try await actorSystem.withCallTimeout(settings.probeTimeout * 2) {
                try await remote.gossip(envelope)
            }
            if !stopped, let verdict = reply?.message?[me], verdict.status == .down {
                log.notice("\(node) answered that this node is down there")
                downReason = "\(node) answered that this node is down there"
                apply(membership.update(verdict))
            }
            return true
        } catch {
            log.trace("asking \(node) where this node stands failed: \(error)")
            return false
        }
    }

    /// This node's own record with `status` (and, when it becomes up, its up number).
    func ownRecord(_ status: MemberStatus, upNumber: UInt64 = 0) -> Member {
        Member(node: me, name: myName, status: status, role: role, upNumber: upNumber)
    }

    /// A membership holding only `member`.
    func ownRecord(_ member: Member) -> Membership {
        var own = Membership()
        own.update(member)
        return own
    }

    /// How a round of ``joinThroughSeeds()`` went.
    enum JoinOutcome: Sendable, Equatable {
        /// A seed let this node in.
        case joined
        /// No seed answered (or there was none to try).
        case unanswered
        /// Every seed that answered refused because it is down itself; their refusals.
        case seedsDown([String])
    }

    /// Tries to join through the addresses discovery gives. A joining node that finds nobody for
    /// `joinAttemptsBeforeAlone` rounds starts a cluster of its own; a node alone joins only nodes
    /// with a lower address, so two loners found by multicast end up in one cluster, not two.
    @discardableResult
    func joinThroughSeeds() async -> JoinOutcome {
        guard let start = myself else { return .unanswered }
        let candidates = await discovery.candidates(multicast: multicast)
            .filter { $0 != me.address && (start.status == .joining || $0 < me.address) }
            .filter { address in !membership.alive.contains { $0.node.address == address } }
        var downedSeeds: [String] = []
        for seed in candidates.shuffled() {
            guard !stopped, let myself else { return .unanswered }
            do {
                let node = try await actorSystem.connect(to: seed)
                let remote = try daemon(on: node)
                messagesSent += 1
                let view = try await actorSystem.withCallTimeout(settings.probeTimeout * 4) {
                    try await remote.join(myself)
                }
                merge(view)
                if let current = membership[me], current.status == .joining {
                    apply(membership.update(ownRecord(.up, upNumber: membership.highestUpNumber + 1)))
                }
                failedJoins = 0
                log.debug("joined the cluster through \(seed)")
                return .joined
            } catch let error as ClusterError where error.code == .downed {
                // The seed is down itself and says so: look for another one.
                log.warning("seed \(seed) refused the join: \(error.message)")
                downedSeeds.append(error.message)
            } catch {
                log.debug("cannot join through seed \(seed): \(error)")
            }
        }
        failedJoins += 1
        if start.status == .joining, failedJoins >= settings.joinAttemptsBeforeAlone {
            log.info("no seed answered in \(failedJoins) attempts; starting a cluster of one")
            apply(membership.update(ownRecord(.up, upNumber: membership.highestUpNumber + 1)))
        }
        return downedSeeds.isEmpty ? .unanswered : .seedsDown(downedSeeds)
    }

    /// Leaves gracefully: leaving, then removed, each pushed to a few members at once.
    func leave() async {
        guard !stopped, let myself, !myself.status.isTerminal else { return }
        guard membership.alive.contains(where: { $0.node != me }) else {
            // Alone: nobody to tell, nothing to wait for.
            apply(membership.update(ownRecord(.removed)))
            return
        }
        apply(membership.update(ownRecord(.leaving)))
        await pushToSome()
        try? await Task.sleep(for: settings.leaveGracePeriod / 2)
        apply(membership.update(ownRecord(.removed)))
        await pushToSome()
        try? await Task.sleep(for: settings.leaveGracePeriod / 2)
    }

    private func pushToSome() async {
        let targets = membership.alive.filter { $0.node != me && $0.reachability == .reachable }.shuffled().prefix(3)
        let envelope = full(membership)
        await withTaskGroup(of: Void.self) { group in
            for target in targets {
                group.addTask { await self.exchange(envelope, with: target.node) }
            }
        }
    }

    /// Forgets members that have been down or removed longer than `forgetAfter`.
    func forgetOldMembers() {
        let cutoff = clock.now - settings.forgetAfter
        let old = terminalSince.filter { $0.value < cutoff }.map(\.key)
        guard !old.isEmpty else { return }
        membership.prune(old)
        actorSystem.metrics.recordMembers(membership)
        let now = clock.now
        for node in old {
            terminalSince.removeValue(forKey: node)
            forgotten[node] = now
        }
        let memoryCutoff = now - settings.forgetAfter * 10
        forgotten = forgotten.filter { $0.value >= memoryCutoff }
    }
}
