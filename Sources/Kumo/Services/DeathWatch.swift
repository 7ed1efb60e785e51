import KumoCore
import Logging

/// Lifecycle watches on every node, the system actor `kumo.watch`: a watch on an actor or a node
/// fires exactly once, when the actor is deinitialized or its node is down or leaves.
///
/// A watch on a remote actor asks that actor's node to tell this one when the actor stops
/// (``watchActor(_:)``, answered with ``actorTerminated(_:)``); node watches, and watches on the
/// actors of a node that is gone, fire from this node's own membership events. It runs on the
/// node's event-loop executor.
distributed actor DeathWatch {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.watch"

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    private let me: NodeID
    private let log: Logger
    private var view = MembershipView()
    private var localWatches: [ActorID.Path: [WatchHandle]] = [:]
    private var remoteWatches: [ActorID: [WatchHandle]] = [:]
    private var nodeWatches: [NodeID: [WatchHandle]] = [:]
    /// The nodes watching each local actor.
    private var watchers: [ActorID.Path: Set<NodeID>] = [:]
    private var follower: Task<Void, Never>?

    init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
        self.me = actorSystem.node
        var log = actorSystem.logger
        log[metadataKey: "kumo.actor"] = "\(Self.actorName)"
        self.log = log
    }

    func start() async {
        follower = await actorSystem.followMembership { [weak self] event in await self?.whenLocal { $0.apply(event) } }
    }

    func stop() {
        follower?.cancel()
    }

    private func apply(_ event: MembershipEvent) {
        guard let gone = view.apply(event) else { return }
        nodeTerminated(gone.node, left: gone.status == .removed)
    }

    private func other(on node: NodeID) throws -> DeathWatch {
        try DeathWatch.resolve(id: .named(Self.actorName, on: node), using: actorSystem)
    }

    // MARK: Remote side

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

    // MARK: Local side

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
        if let member = view[id.node], member.status.isTerminal {
            handle.fire(member.status == .down ? .nodeDown(id.node) : .nodeLeft(id.node))
            return
        }
        let first = remoteWatches[id] == nil
        remoteWatches[id, default: []].append(handle)
        guard first else { return }
        do {
            let found = try await other(on: id.node).watchActor(id.path)
            if !found {
                for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(.actorStopped(id, found: false)) }
            }
        } catch {
            // The node cannot be reached: the watch fires when membership declares it down.
            if view[id.node] == nil {
                for handle in remoteWatches.removeValue(forKey: id) ?? [] { handle.fire(.nodeDown(id.node)) }
            }
        }
    }

    /// Watches a node: fires when it is down or has left.
    func watch(node: NodeID, handle: WatchHandle) {
        if let member = view[node], member.status.isTerminal {
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
                Task { try? await self.other(on: id.node).unwatchActor(id.path) }
            } else {
                remoteWatches[id] = rest
            }
        }
    }

    /// A local actor was deinitialized: tell local and remote watchers.
    func actorResigned(_ id: ActorID) async {
        for handle in localWatches.removeValue(forKey: id.path) ?? [] { handle.fire(.actorStopped(id, found: true)) }
        let nodes = watchers.removeValue(forKey: id.path) ?? []
        for node in nodes where view.isAlive(node) {
            do {
                try await other(on: node).actorTerminated(id)
            } catch {
                log.debug("could not tell \(node) that \(id) stopped: \(error)")
            }
        }
    }

    /// A node is down or has left: every watch on it and its actors fires, once.
    private func nodeTerminated(_ node: NodeID, left: Bool) {
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
