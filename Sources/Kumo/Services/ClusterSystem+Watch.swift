import KumoCore

extension ClusterSystem {
    /// Watches an actor anywhere in the cluster: the handle's `reason` arrives exactly once, when
    /// the actor stops, or its node is down or leaves.
    public func watch<Act: DistributedActor>(_ actor: Act) async -> WatchHandle where Act.ID == ActorID {
        await watch(actor.id)
    }

    /// Watches the actor with identity `id`.
    public func watch(_ id: ActorID) async -> WatchHandle {
        let handle = WatchHandle { handle in Task { await self.deathWatch?.whenLocal { $0.cancel(handle) } } }
        if await deathWatch?.whenLocal({ await $0.watch(id, handle: handle) }) == nil { handle.fire(.nodeDown(node)) }
        return handle
    }

    /// Watches a node: the handle's `reason` arrives exactly once, when it is down or leaves.
    public func watch(node watched: NodeID) async -> WatchHandle {
        let handle = WatchHandle { handle in Task { await self.deathWatch?.whenLocal { $0.cancel(handle) } } }
        if await deathWatch?.whenLocal({ $0.watch(node: watched, handle: handle) }) == nil { handle.fire(.nodeDown(watched)) }
        return handle
    }
}
