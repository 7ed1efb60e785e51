import KumoCore

extension ClusterDaemon {
    func register(_ actor: ActorID, key: String) {
        if registry.register(actor, key: key) { notifyListings([key]) }
    }

    func unregister(_ actor: ActorID) {
        if registry.remove(actor) { notifyAllListings() }
    }

    /// The actors registered under `key` on live members.
    func lookup(_ key: String) -> [ActorID] {
        registry.actors(for: key) { isAlive($0) }
    }

    /// A stream of the actors under `key`: the current list first, then each new list.
    func listing(_ key: String) -> AsyncStream<[ActorID]> {
        let id = nextSubscriber
        nextSubscriber += 1
        let (stream, continuation) = AsyncStream<[ActorID]>.makeStream(bufferingPolicy: .bufferingNewest(64))
        continuation.yield(lookup(key))
        if stopped {
            continuation.finish()
            return stream
        }
        listingSubscribers[id] = (key, continuation)
        continuation.onTermination = { _ in Task { await self.removeListing(id) } }
        return stream
    }

    private func removeListing(_ id: Int) {
        listingSubscribers.removeValue(forKey: id)
    }

    func notifyListings(_ keys: Set<String>) {
        guard !keys.isEmpty else { return }
        for subscriber in listingSubscribers.values where keys.contains(subscriber.key) {
            subscriber.continuation.yield(lookup(subscriber.key))
        }
    }

    func notifyAllListings() {
        for subscriber in listingSubscribers.values {
            subscriber.continuation.yield(lookup(subscriber.key))
        }
    }
}
