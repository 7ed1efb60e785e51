import Kumo

extension JobsRuntime {
    /// Follows the membership, asks new members for their load, and asks every member again
    /// each ``loadReportInterval``.
    func startTracking() async {
        let events = await system.membershipEvents()
        let watch = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                await self.apply(event)
            }
        }
        let probe = Task { [weak self] in
            while !Task.isCancelled {
                guard let interval = self?.loadReportInterval else { return }
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.probeAll()
            }
        }
        tasks.withLock { $0 += [watch, probe] }
    }

    private func apply(_ event: MembershipEvent) async {
        let member = event.member
        guard member.node != system.node else { return }
        let alive = !member.status.isTerminal && member.reachability == .reachable && member.status != .leaving
        let isNew = members.withLock { members in
            if alive { return members.insert(member.node).inserted }
            members.remove(member.node)
            return false
        }
        if !alive {
            placement.withLock { $0.remove(member.node) }
        } else if isNew {
            await probe(member.node)
        }
    }

    /// Asks every member for its load at once.
    func probeAll() async {
        let nodes = members.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for node in nodes { group.addTask { await self.probe(node) } }
        }
    }

    /// Asks `node` for its load; a node that does not run the plugin, or does not answer, takes
    /// no jobs from here until it does.
    func probe(_ node: NodeID) async {
        do {
            let worker = try JobWorker.resolve(id: .named(JobWorker.actorName, on: node), using: system)
            let load = try await system.withCallTimeout(max(loadReportInterval, .seconds(1))) { try await worker.load() }
            record(load, from: node)
        } catch {
            placement.withLock { $0.remove(node) }
        }
    }

    /// Records a report, unless `node` left meanwhile; `returning` calls of `cost` came back
    /// with it, and are no longer this node's share of the worker's load.
    func record(_ load: NodeLoad, from node: NodeID, returning count: Int = 0, cost: ComputationCost = .light) {
        let known = members.withLock { $0.contains(node) }
        placement.withLock { placement in
            if count > 0 { placement.returned(count, cost: cost, from: node) }
            if known { placement.report(load, from: node, at: .now) }
        }
    }

    /// Brings this node's own entry up to date before a choice.
    func refreshOwnLoad() {
        guard runsJobs else { return }
        let load = self.load
        placement.withLock { $0.report(load, from: system.node, at: .now) }
    }
}
