import KumoCore

extension ClusterDaemon {
    /// Another node watches one of this node's actors. Returns false when there is no such actor.
    distributed func watchActor(_ path: ActorID.Path) -> Bool {
        guard let caller = ClusterSystem.currentCaller, actorSystem.localActor(path) != nil else { return false }
        watchers[path, default: []].insert(caller)
        actorSystem.noteInteresting(path)
        return true
    }

    /// Another node stops watching one of this node's actors.
    distributed func unwatchActor(_ path: ActorID.Path) {
        guard let caller = ClusterSystem.currentCaller else { return }
        watchers[path]?.remove(caller)
        if watchers[path]?.isEmpty == true { watchers.removeValue(forKey: path) }
    }

    /// A node whose actor this node watches reports that it stopped.
    distributed func actorTerminated(_ id: ActorID) {
        guard ClusterSystem.currentCaller == id.node else { return }
        for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(.actorStopped(id, found: true)) }
    }

    /// Watches an actor anywhere in the cluster.
    func watch(_ id: ActorID, handle: WatchHandle) async {
        if id.node == me {
            guard actorSystem.localActor(id.path) != nil else {
                handle.fire(.actorStopped(id, found: false))
                return
            }
            localWatches[id.path, default: []].append(handle)
            actorSystem.noteInteresting(id.path)
            return
        }
        if let member = membership[id.node], member.status.isTerminal {
            handle.fire(member.status == .down ? .nodeDown(id.node) : .nodeLeft(id.node))
            return
        }
        let first = remoteWatches[id] == nil
        remoteWatches[id, default: []].append(handle)
        guard first else { return }
        do {
            let remote = try daemon(on: id.node)
            let found = try await remote.watchActor(id.path)
            if !found {
                for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(.actorStopped(id, found: false)) }
            }
        } catch {
            // The node cannot be reached: the watch fires when membership declares it down.
            if membership[id.node] == nil {
                for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(.nodeDown(id.node)) }
            }
        }
    }

    /// Watches a node: fires when it is down or has left.
    func watch(node: NodeID, handle: WatchHandle) {
        if let member = membership[node], member.status.isTerminal {
            handle.fire(member.status == .down ? .nodeDown(node) : .nodeLeft(node))
            return
        }
        nodeWatches[node, default: []].append(handle)
    }

    func cancel(_ handle: WatchHandle) {
        for (key, handles) in localWatches { localWatches[key] = handles.filter { $0 !== handle } }
        for (key, handles) in nodeWatches { nodeWatches[key] = handles.filter { $0 !== handle } }
        for (id, handles) in remoteWatches {
            let rest = handles.filter { $0 !== handle }
            if rest.isEmpty {
                remoteWatches.removeValue(forKey: id)
                Task { try? await self.daemon(on: id.node).unwatchActor(id.path) }
            } else {
                remoteWatches[id] = rest
            }
        }
    }

    /// A local actor was deinitialized: tell local and remote watchers, drop its registrations.
    func actorResigned(_ id: ActorID) async {
        for handle in localWatches.removeValue(forKey: id.path) ?? [] { handle.fire(.actorStopped(id, found: true)) }
        unregister(id)
        let nodes = watchers.removeValue(forKey: id.path) ?? []
        for node in nodes where isAlive(node) {
            do {
                try await daemon(on: node).actorTerminated(id)
            } catch {
                log.debug("could not tell \(node) that \(id) stopped: \(error)")
            }
        }
    }

    /// A node is down or has left: every watch on it and its actors fires, once.
    func nodeTerminated(_ node: NodeID, left: Bool) {
        let reason: TerminationReason = left ? .nodeLeft(node) : .nodeDown(node)
        for handle in nodeWatches.removeValue(forKey: node) ?? [] { handle.fire(reason) }
        for id in remoteWatches.keys where id.node == node {
            for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(reason) }
        }
        for path in watchers.keys {
            watchers[path]?.remove(node)
        }
    }
}
