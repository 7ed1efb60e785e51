import Kumo
import Testing

@testable import KumoCRDT

/// The replication logic alone: what a store queues, merges, compares and sends, with no I/O.
@Suite("ReplicaStore, as a value")
struct ReplicaStoreTests {
    static let me = NodeID(address: NodeAddress(host: "127.0.0.1", port: 1), incarnation: 1)
    static let peers = (2...3).map { NodeID(address: NodeAddress(host: "127.0.0.1", port: $0), incarnation: UInt64($0)) }
    let counter = CRDTType(PNCounter.self)

    func store() -> ReplicaStore {
        var store = ReplicaStore(node: Self.me)
        for peer in Self.peers { store.addPeer(peer) }
        return store
    }

    /// Increments `key` by `amount` here, as an update does.
    func increment(_ store: inout ReplicaStore, _ key: String, by amount: Int64) {
        var value = store.take(key) as? PNCounter ?? PNCounter()
        let delta = value.increment(by: amount, at: store.replica)
        store.applyLocal(key: key, type: counter, value: value, delta: delta)
    }

    @Test("a local change is queued once for every peer, merged per key")
    func queuing() {
        var store = store()
        for _ in 0..<5 { increment(&store, "hits", by: 1) }
        increment(&store, "misses", by: 2)
        for peer in Self.peers {
            let taken = store.takePending(for: peer, limit: 10)
            #expect(taken.count == 2)
            let hits = taken.first { $0.key == "hits" }?.pending
            #expect((hits?.delta as? PNCounter)?.value == 5)
            #expect(hits?.dots.versions[store.replica] == 5)
            #expect(store.takePending(for: peer, limit: 10).isEmpty)
        }
    }

    @Test("a delta that is already covered changes nothing; a new one merges")
    func idempotentReceive() throws {
        var sender = store()
        increment(&sender, "hits", by: 3)
        let taken = sender.takePending(for: Self.peers[0], limit: 10)[0].pending
        let item = DeltaItem(key: "hits", type: counter.name, bytes: try encodeCRDT(taken.delta), dots: taken.dots)
        var receiver = ReplicaStore(node: Self.peers[0])
        #expect(try receiver.receive(item, decoded: taken.delta, type: counter) != nil)
        #expect(try receiver.receive(item, decoded: taken.delta, type: counter) == nil)
        #expect((receiver.value("hits") as? PNCounter)?.value == 3)
        // Another type for the key is refused.
        let set = CRDTType(ORSet<Int>.self)
        #expect(throws: ReplicationError.self) {
            _ = try receiver.receive(
                DeltaItem(key: "hits", type: set.name, bytes: [], dots: CausalContext()), decoded: ORSet<Int>(), type: set)
        }
    }

    @Test("deltas that did not arrive are queued again, merged with newer ones")
    func requeue() {
        var store = store()
        increment(&store, "hits", by: 1)
        let lost = store.takePending(for: Self.peers[0], limit: 10)
        increment(&store, "hits", by: 1)
        store.requeue(lost, for: Self.peers[0], types: [counter.name: counter])
        let again = store.takePending(for: Self.peers[0], limit: 10)
        #expect(again.count == 1)
        #expect((again[0].pending.delta as? PNCounter)?.value == 2)
        #expect(again[0].pending.dots.versions[store.replica] == 2)
    }

    @Test("an unreachable peer keeps its deltas; a peer that left loses them")
    func peers() {
        var store = store()
        store.peerUnreachable(Self.peers[0])
        increment(&store, "hits", by: 1)
        #expect(store.reachablePeers == [Self.peers[1]])
        #expect(store.peers.count == 2)
        store.addPeer(Self.peers[0])
        #expect(store.takePending(for: Self.peers[0], limit: 10).count == 1)
        increment(&store, "hits", by: 1)
        store.removePeer(Self.peers[1])
        #expect(store.takePending(for: Self.peers[1], limit: 10).isEmpty)
        let again = store.addPeer(Self.peers[0])
        #expect(!again)
        let back = store.addPeer(Self.peers[1])
        #expect(back)
    }

    @Test("anti-entropy compares quiet keys only, and finds the keys that differ or are missing")
    func antiEntropy() throws {
        var a = store()
        var b = ReplicaStore(node: Self.peers[0])
        increment(&a, "same", by: 1)
        let same = a.state("same")!
        _ = try b.receive(StateItem(key: "same", type: counter.name, bytes: [], applied: same.applied), decoded: same.value, type: counter)
        increment(&a, "only-a", by: 1)
        increment(&b, "only-b", by: 1)
        // Everything just changed: nothing is compared yet.
        a.refreshDigests()
        b.refreshDigests()
        #expect(a.digests.isEmpty)
        // Two quiet periods later every key is compared.
        for _ in 0..<2 {
            a.beginAntiEntropyPeriod()
            b.beginAntiEntropyPeriod()
        }
        #expect(a.digests["same"] == b.digests["same"])
        let (send, want) = b.compare(a.digests)
        #expect(Set(send) == ["only-b"])
        #expect(Set(want) == ["only-a"])
        #expect(a.total != b.total)
    }
}
