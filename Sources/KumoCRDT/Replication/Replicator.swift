import Kumo
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A node's replicator: the shell around its ``ReplicaStore``, which decodes and encodes values,
/// sends gossip and anti-entropy on their schedules, answers peers, and tells subscribers of
/// changes.
actor Replicator {
    let system: ClusterSystem
    let settings: Replication
    let logger: Logger
    var store: ReplicaStore
    var types: [String: CRDTType]
    private var subscribers: [String: [UInt64: AsyncStream<any CRDT>.Continuation]] = [:]
    private var nextSubscriber: UInt64 = 0
    private var tasks: [Task<Void, Never>] = []
    let storage: ReplicaStorage?
    /// Changes not yet on disk, and the callers waiting for them.
    private var unwritten: [ReplicaStorage.Record] = []
    private var unwrittenWaiters: [CheckedContinuation<Void, any Error>] = []
    private var writing = false
    /// Keys changed since the last snapshot.
    private var changedSinceSnapshot: Set<String> = []
    /// Peers being sent every value now (anti-entropy leaves them alone).
    private var syncing: Set<NodeID> = []
    /// Stored changes of types not known yet, applied when a handle makes the type known.
    private var dormant: [String: [ReplicaStorage.Record]] = [:]
    /// When and with whom anti-entropy compares replicas, and which peers were last found to
    /// agree (``GossipEngine``, at the level of digests).
    private var antiEntropy: GossipEngine
    let clock = ContinuousClock()
    /// The pruning of removed replicas: the protocol's state, and when to gossip its ledger.
    var pruner: Pruner
    var pruningGossip: GossipEngine

    init(system: ClusterSystem, settings: Replication, storage: ReplicaStorage? = nil) {
        self.storage = storage
        self.system = system
        self.settings = settings
        var logger = system.logger
        logger[metadataKey: "plugin"] = "kumo.crdt"
        self.logger = logger
        self.store = ReplicaStore(node: system.node)
        self.antiEntropy = GossipEngine(me: system.node, settings: .init(interval: settings.antiEntropyInterval), now: ContinuousClock.now)
        self.pruner = Pruner(me: system.node)
        self.pruningGossip = GossipEngine(me: system.node, settings: .init(interval: settings.antiEntropyInterval), now: ContinuousClock.now)
        var types: [String: CRDTType] = [:]
        for type in settings.types { types[type.name] = type }
        self.types = types
    }

    var replica: ReplicaID { store.replica }
    /// The XOR of the digests, brought up to date.
    func currentTotal() -> UInt64 {
        store.refreshDigests()
        return store.total
    }

    /// Answers a peer's anti-entropy round: its total in, this node's out.
    func total(comparing theirs: UInt64, from peer: NodeID?) -> UInt64 {
        store.refreshDigests()
        if let peer { _ = antiEntropy.received(from: peer, theirs: theirs, digest: store.total) }
        return store.total
    }

    // MARK: Local use

    /// Makes `type` known here (the handle of a key does this).
    func register(_ type: CRDTType) {
        guard types[type.name] == nil else { return }
        types[type.name] = type
        for record in dormant.removeValue(forKey: type.name) ?? [] { restore(record) }
    }

    // MARK: Storage

    /// Loads what the data directory holds (before the node joins in).
    func load() throws {
        guard let storage else { return }
        let records = try storage.load()
        for record in records { restore(record) }
        if !records.isEmpty {
            logger.info("loaded replicas", metadata: ["records": "\(records.count)", "keys": "\(store.keys.count)", "path": "\(storage.path)"])
        }
    }

    private func restore(_ record: ReplicaStorage.Record) {
        guard types[record.type] != nil else {
            dormant[record.type, default: []].append(record)
            return
        }
        do {
            let context = try BinaryDecoder().decode(CausalContext.self, from: ByteBuffer(bytes: record.context))
            switch record.kind {
            case .delta:
                try receiveDelta(DeltaItem(key: record.key, type: record.type, bytes: record.bytes, dots: context))
            case .state:
                _ = receiveState(StateItem(key: record.key, type: record.type, bytes: record.bytes, applied: context))
            }
        } catch {
            logger.error("a stored change does not load", metadata: ["key": "\(record.key)", "error": "\(error)"])
        }
    }

    /// Waits until `records` are on disk (at once without a data directory). Records of
    /// concurrent callers go in one transaction.
    func persist(_ records: [ReplicaStorage.Record]) async throws {
        guard storage != nil, !records.isEmpty else { return }
        unwritten += records
        for record in records { changedSinceSnapshot.insert(record.key) }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            unwrittenWaiters.append(continuation)
            if !writing {
                writing = true
                Task { await self.writeUnwritten() }
            }
        }
    }

    private func writeUnwritten() async {
        while let storage, !unwritten.isEmpty {
            let batch = unwritten
            let waiters = unwrittenWaiters
            unwritten = []
            unwrittenWaiters = []
            do {
                try await storage.append(batch)
                for waiter in waiters { waiter.resume() }
            } catch {
                logger.error("replicas could not be written", metadata: ["error": "\(error)"])
                for waiter in waiters { waiter.resume(throwing: error) }
            }
        }
        writing = false
    }

    /// Writes the values of the keys changed since the last snapshot whole, and drops the
    /// changes they cover.
    func snapshot() async {
        guard let storage, !changedSinceSnapshot.isEmpty else { return }
        do {
            let upTo = try await storage.lastDelta()
            let keys = changedSinceSnapshot
            changedSinceSnapshot = []
            var states: [ReplicaStorage.Record] = []
            for key in keys {
                guard let item = try stateItem(key) else { continue }
                states.append(ReplicaStorage.Record(
                    kind: .state, key: key, type: item.type, bytes: item.bytes, context: try encodeContext(item.applied)))
            }
            try await storage.snapshot(states, coveringDeltasUpTo: upTo)
        } catch {
            logger.error("snapshot failed", metadata: ["error": "\(error)"])
        }
    }

    private func encodeContext(_ context: CausalContext) throws -> [UInt8] {
        Array(try BinaryEncoder().encode(context).readableBytesView)
    }

    func record(_ item: DeltaItem) -> ReplicaStorage.Record? {
        guard let context = try? encodeContext(item.dots) else { return nil }
        return ReplicaStorage.Record(kind: .delta, key: item.key, type: item.type, bytes: item.bytes, context: context)
    }

    private func record(_ item: StateItem) -> ReplicaStorage.Record? {
        guard let context = try? encodeContext(item.applied) else { return nil }
        return ReplicaStorage.Record(kind: .state, key: item.key, type: item.type, bytes: item.bytes, context: context)
    }


    func value(_ key: String) -> (any CRDT)? { store.value(key) }


    /// Changes `key` with `change`. Returns the delta as an item to send at a stronger
    /// consistency when `encode`, and whether anything changed.
    /// What an update left to do: the delta to send when a stronger consistency (or this node
    /// not holding the key) asks for it, and the key's holders.
    struct UpdateResult: Sendable {
        var item: DeltaItem?
        var holding: Bool
        var holders: Set<NodeID>
    }

    /// Changes `key` (held by `replicas` nodes, `nil` for all) with `change`, in one call for the
    /// common case. A node that does not hold the key first merges a holder's value, so the change
    /// starts from it and from this node's own earlier changes.
    func update<Value: CRDT>(
        _ key: String, as crdt: CRDTType, replicas: Int?, consistency: WriteConsistency,
        _ change: sending (inout Mutator<Value>) -> Void
    ) async throws -> UpdateResult {
        store.place(key, replicas: replicas)
        let holding = store.isReplica(of: key)
        // Only a stronger write, or one from a node that does not hold the key, needs them.
        let holders = consistency.level != .local || !holding ? self.holders(of: key) : []
        if !holding {
            register(crdt)
            let items = try await gather(
                key, needed: 2, of: holders.count + 1, peers: holders, timeout: max(consistency.timeout, .seconds(3)))
            _ = await receive(items)
        }
        let item = try await update(key, as: crdt, encode: consistency.level != .local || !holding, change).item
        return UpdateResult(item: item, holding: holding, holders: holders)
    }

    /// This node's value of `key` (held by `replicas` nodes), whether it holds the key, and the
    /// other holders: one call for a read.
    func readLocal(_ key: String, replicas: Int?) -> (value: (any CRDT)?, holding: Bool, holders: Set<NodeID>) {
        store.place(key, replicas: replicas)
        return (store.value(key), store.isReplica(of: key), holders(of: key))
    }

    func update<Value: CRDT>(
        _ key: String, as crdt: CRDTType, encode: Bool, _ change: sending (inout Mutator<Value>) -> Void
    ) async throws -> (changed: Bool, item: DeltaItem?) {
        register(crdt)
        // Taken out of the store, so the change mutates the value in place.
        var mutator: Mutator<Value>
        var taken = false
        switch store.take(key, as: crdt.name) {
        case .otherType(let held):
            throw ReplicationError(.typeMismatch, key: key, "key \(key) holds \(held) here, not \(crdt.name)")
        case .value(let held):
            taken = true
            mutator = Mutator(value: held as? Value ?? Value(), replica: store.replica, now: Self.wallMillis())
        case .absent:
            mutator = Mutator(value: Value(), replica: store.replica, now: Self.wallMillis())
        }
        change(&mutator)
        guard mutator.changed, mutator.delta != Value() else {
            if taken { store.restore(key, mutator.value) }
            return (false, nil)
        }
        let dot = store.applyLocal(key: key, type: crdt, value: mutator.value, delta: mutator.delta)
        notify(key, mutator.value)
        guard encode || storage != nil else { return (true, nil) }
        let item: DeltaItem
        do {
            item = DeltaItem(
                key: key, type: crdt.name, bytes: try encodeCRDT(mutator.delta), dots: CausalContext(dots: [dot]),
                replicas: store.replicaCount(of: key))
        } catch {
            throw ReplicationError(.malformed, key: key, "the delta does not encode: \(error)")
        }
        if storage != nil, let record = record(item) { try await persist([record]) }
        return (true, encode ? item : nil)
    }

    /// Merges `state` (gathered by a read) into this node's value; returns the merged value.
    func mergeRead<Value: CRDT>(_ items: [StateItem], key: String, as type: Value.Type) async -> Value {
        _ = await receive(items)
        return store.value(key) as? Value ?? Value()
    }

    /// Every change of `key` from now on.
    func subscribe(_ key: String) -> AsyncStream<any CRDT> {
        let (stream, continuation) = AsyncStream.makeStream(of: (any CRDT).self, bufferingPolicy: .bufferingNewest(64))
        nextSubscriber += 1
        let id = nextSubscriber
        subscribers[key, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(key, id) }
        }
        return stream
    }

    private func unsubscribe(_ key: String, _ id: UInt64) {
        subscribers[key]?.removeValue(forKey: id)
    }

    func notify(_ key: String, _ value: any CRDT) {
        guard let continuations = subscribers[key], !continuations.isEmpty else { return }
        for continuation in continuations.values { continuation.yield(value) }
    }

    // MARK: From peers

    func receive(_ batch: DeltaBatch, from peer: NodeID?) async -> Rejections {
        var errors: [ReplicationError] = []
        var records: [ReplicaStorage.Record] = []
        for item in batch.items {
            do {
                if try receiveDelta(item), storage != nil, let record = record(item) { records.append(record) }
            } catch {
                errors.append(error)
            }
        }
        // Answered only once on disk: the sender may count on it.
        do {
            try await persist(records)
        } catch {
            errors.append(ReplicationError(.malformed, key: "-", "the deltas could not be stored: \(error)"))
        }
        if !errors.isEmpty {
            logger.warning("rejected deltas", metadata: ["from": "\(peer.map { "\($0)" } ?? "?")", "errors": "\(errors)"])
        }
        return Rejections(errors: errors)
    }

    func receiveWrite(_ item: DeltaItem, from peer: NodeID?) async throws -> Bool {
        if try receiveDelta(item), storage != nil, let record = record(item) { try await persist([record]) }
        return true
    }

    /// Applies a delta; `true` when it changed the value.
    @discardableResult
    private func receiveDelta(_ item: DeltaItem) throws(ReplicationError) -> Bool {
        var (type, decoded) = try decode(item.key, item.type, item.bytes)
        var item = item
        stripForgotten(&decoded, &item.dots)
        store.place(item.key, replicas: item.replicas)
        guard let changed = try store.receive(item, decoded: decoded, type: type) else { return false }
        notify(item.key, changed)
        return true
    }

    func receive(_ states: [StateItem]) async -> Rejections {
        var errors: [ReplicationError] = []
        var records: [ReplicaStorage.Record] = []
        for state in states {
            if let error = receiveState(state) {
                errors.append(error)
            } else if storage != nil, let record = record(state) {
                records.append(record)
            }
        }
        do {
            try await persist(records)
        } catch {
            errors.append(ReplicationError(.malformed, key: "-", "the values could not be stored: \(error)"))
        }
        return Rejections(errors: errors)
    }

    @discardableResult
    func receiveState(_ item: StateItem) -> ReplicationError? {
        do {
            var (type, decoded) = try decode(item.key, item.type, item.bytes)
            var item = item
            stripForgotten(&decoded, &item.applied)
            store.place(item.key, replicas: item.replicas)
            if let changed = try store.receive(item, decoded: decoded, type: type) { notify(item.key, changed) }
            return nil
        } catch {
            return error
        }
    }

    private func decode(_ key: String, _ typeName: String, _ bytes: [UInt8]) throws(ReplicationError) -> (CRDTType, any CRDT) {
        guard let type = types[typeName] else {
            throw ReplicationError(.unknownType, key: key, "node \(system.settings.name) knows no CRDT type \(typeName) (for key \(key))")
        }
        do {
            return (type, try type.decode(bytes, system.makeDecoder()))
        } catch {
            throw ReplicationError(.malformed, key: key, "a \(typeName) for key \(key) does not decode: \(error)")
        }
    }

    func stateItem(_ key: String) throws -> StateItem? {
        guard let (type, value, applied) = store.state(key) else { return nil }
        return StateItem(key: key, type: type, bytes: try encodeCRDT(value), applied: applied, replicas: store.replicaCount(of: key))
    }

    func answer(_ page: DigestPage, from peer: NodeID?) -> DigestAnswer {
        store.refreshDigests()
        let (send, want) = store.compare(page.digests, from: peer)
        // One message's worth; the next round sends more.
        var next = 0
        return DigestAnswer(states: states(of: send, from: &next), wanted: want)
    }

    // MARK: Peers and schedules

    /// How many keys this node holds.
    var keyCount: Int { store.count }

    // MARK: Partial replication

    /// Records that `key` is held by `replicas` nodes (`nil`: all).
    func place(_ key: String, replicas: Int?) { store.place(key, replicas: replicas) }

    /// Whether this node holds `key`.
    func isReplica(of key: String) -> Bool { store.isReplica(of: key) }

    /// The other nodes that hold `key`.
    func holders(of key: String) -> Set<NodeID> {
        (store.replicaSet(of: key) ?? store.peers).subtracting([system.node])
    }

    /// The holders of each partially replicated key, as last seen.
    private var lastHolders: [String: Set<NodeID>] = [:]

    /// Moves partially replicated keys after a membership change: a node that now holds a key
    /// is sent its value, and a node that no longer holds one hands it to its holders and
    /// forgets it.
    func rebalance() async {
        let system = self.system
        for key in store.partialKeys where store.value(key) != nil {
            guard let holders = store.replicaSet(of: key), let item = try? stateItem(key) else { continue }
            let previous = lastHolders[key] ?? []
            lastHolders[key] = holders
            let mine = holders.contains(system.node)
            let targets = mine ? holders.subtracting(previous).subtracting([system.node]) : holders
            guard !targets.isEmpty else { continue }
            var delivered = 0
            for target in targets {
                guard let agent = try? agent(on: target) else { continue }
                if (try? await system.withCallTimeout(.seconds(5)) { try await agent.deliverStates([item]) }) != nil {
                    delivered += 1
                }
            }
            // Handed over: a node that does not hold the key forgets it.
            if !mine, delivered > 0, !store.isReplica(of: key) {
                store.drop(key)
                lastHolders[key] = nil
            }
        }
    }

    /// The other replicas (reachable or not).
    var peers: Set<NodeID> { store.peers }

    /// The other replicas that can be reached now.
    var reachablePeers: Set<NodeID> { store.reachablePeers }

    /// Adds `node` as a replica; a new one is sent every value at once, since the deltas it
    /// missed will never come.
    func addPeer(_ node: NodeID) {
        antiEntropy.setPeer(node, reachable: true)
        pruningGossip.setPeer(node, reachable: true)
        guard store.addPeer(node) else { return }
        tasks.append(Task { [weak self] in await self?.sendEverything(to: node) })
    }

    /// Sends `node` every value, in messages of bounded size, a few in flight at once. Anti-entropy
    /// leaves the peer alone meanwhile: this covers it.
    func sendEverything(to node: NodeID) async {
        guard let agent = try? agent(on: node) else { return }
        syncing.insert(node)
        defer { syncing.remove(node) }
        let system = self.system
        let keys = store.keys.filter { store.replicates(node, $0) && store.isReplica(of: $0) }
        var next = 0
        var inFlight: [Task<Bool, Never>] = []
        while true {
            while inFlight.count < 4, next < keys.count {
                let batch = states(of: keys, from: &next)
                inFlight.append(Task.detached {
                    (try? await system.withCallTimeout(.seconds(30)) { try await agent.deliverStates(batch) }) != nil
                })
            }
            guard !inFlight.isEmpty else { return }
            guard await inFlight.removeFirst().value else {
                for task in inFlight { task.cancel() }
                return
            }
        }
    }

    /// The values of `keys` from `next` on, as many as one message holds; moves `next` past them.
    func states(of keys: [String], from next: inout Int) -> [StateItem] {
        var states: [StateItem] = []
        var bytes = 0
        while next < keys.count, bytes < settings.maxMessageBytes, states.count < settings.maxKeysPerMessage {
            if let item = try? stateItem(keys[next]) {
                states.append(item)
                bytes += item.bytes.count + item.key.utf8.count
            }
            next += 1
        }
        return states
    }

    func removePeer(_ node: NodeID) {
        store.removePeer(node)
        antiEntropy.removePeer(node)
        pruningGossip.removePeer(node)
        pruner.nodeRemoved(node)
    }

    func peerUnreachable(_ node: NodeID) {
        store.peerUnreachable(node)
        antiEntropy.setPeer(node, reachable: false)
        pruningGossip.setPeer(node, reachable: false)
    }

    private func requeue(_ items: [(key: String, pending: ReplicaStore.Pending)], for peer: NodeID) {
        store.requeue(items, for: peer, types: types)
    }

    func start() async {
        let events = await system.membershipEvents()
        tasks.append(Task { [weak self] in
            for await event in events {
                guard let self else { return }
                let member = event.member
                guard member.node != self.system.node else { continue }
                if member.status.isTerminal {
                    await self.removePeer(member.node)
                } else if member.reachability == .reachable {
                    await self.addPeer(member.node)
                } else {
                    await self.peerUnreachable(member.node)
                }
            }
        })
        let gossip = settings.gossipInterval
        tasks.append(Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: gossip)
                guard let self else { return }
                await self.gossipRound()
            }
        })
        if storage != nil {
            let interval = settings.snapshotInterval
            tasks.append(Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self else { return }
                    await self.snapshot()
                }
            })
        }
        tasks.append(rounds(when: { $0.pruningGossip.nextRound }) { await $0.pruningRound() })
        tasks.append(rounds(when: { $0.antiEntropy.nextRound }) { await $0.antiEntropyRound() })
    }

    /// A task that runs `round` each time the engine `due` names says, until cancelled or the
    /// replicator is gone.
    private func rounds(
        when due: @escaping @Sendable (isolated Replicator) -> ContinuousClock.Instant,
        _ round: @escaping @Sendable (isolated Replicator) async -> Void
    ) -> Task<Void, Never> {
        Task { [weak self] in
            while !Task.isCancelled {
                guard let next = await self?.instant(due) else { return }
                try? await Task.sleep(until: next, clock: .continuous)
                guard let self else { return }
                await round(self)
            }
        }
    }

    private func instant(_ due: (isolated Replicator) -> ContinuousClock.Instant) -> ContinuousClock.Instant {
        due(self)
    }

    func stop() async {
        for task in tasks { task.cancel() }
        await snapshot()
        for continuations in subscribers.values {
            for continuation in continuations.values { continuation.finish() }
        }
        subscribers = [:]
    }

    func agent(on node: NodeID) throws -> ReplicatorAgent {
        try ReplicatorAgent.resolve(id: .named(ReplicatorAgent.actorName, on: node), using: system)
    }

    /// Sends every reachable peer the deltas it has not been sent, in messages of bounded size;
    /// a message that does not arrive is sent again in the next round.
    func gossipRound() async {
        var sends: [(NodeID, DeltaBatch, [(key: String, pending: ReplicaStore.Pending)])] = []
        for peer in store.reachablePeers {
            while true {
                let taken = store.takePending(for: peer, limit: settings.maxKeysPerMessage)
                guard !taken.isEmpty else { break }
                var items: [DeltaItem] = []
                var sources: [(key: String, pending: ReplicaStore.Pending)] = []
                var bytes = 0
                for (key, pending) in taken {
                    guard let encoded = try? encodeCRDT(pending.delta) else { continue }
                    bytes += encoded.count + key.utf8.count
                    items.append(DeltaItem(
                        key: key, type: pending.type, bytes: encoded, dots: pending.dots, replicas: store.replicaCount(of: key)))
                    sources.append((key, pending))
                    if bytes >= settings.maxMessageBytes {
                        sends.append((peer, DeltaBatch(items: items), sources))
                        items = []
                        sources = []
                        bytes = 0
                    }
                }
                if !items.isEmpty { sends.append((peer, DeltaBatch(items: items), sources)) }
            }
        }
        guard !sends.isEmpty else { return }
        let system = self.system
        let timeout = max(settings.gossipInterval * 20, .seconds(2))
        let failed = await withTaskGroup(of: Int?.self) { group in
            for (index, (peer, batch, _)) in sends.enumerated() {
                guard let agent = try? agent(on: peer) else { continue }
                group.addTask {
                    do {
                        _ = try await system.withCallTimeout(timeout) { try await agent.deliver(batch) }
                        return nil
                    } catch {
                        return index
                    }
                }
            }
            var failed: [Int] = []
            for await index in group { if let index { failed.append(index) } }
            return failed
        }
        for index in failed { requeue(sends[index].2, for: sends[index].0) }
    }

    /// Compares this node's replicas with one random peer's and repairs both: first the totals
    /// of their digests, then, when those differ, the digests of the keys they share.
    func antiEntropyRound() async {
        store.beginAntiEntropyPeriod()
        store.refreshDigests()
        await rebalance()
        let targets = antiEntropy.round(at: clock.now, digest: store.total)
        guard let peer = targets.first?.peer, !syncing.contains(peer), let agent = try? agent(on: peer) else { return }
        let system = self.system
        do {
            let mine = store.total
            let theirs = try await system.withCallTimeout(settings.antiEntropyInterval) { try await agent.total(mine) }
            antiEntropy.replied(from: peer, theirs: theirs, digest: store.total)
            guard theirs != store.total else { return }
            let answer = try await system.withCallTimeout(settings.antiEntropyInterval * 5) {
                try await agent.exchange(DigestPage(digests: self.store.digests(for: peer)))
            }
            _ = await receive(answer.states)
            var next = 0
            while next < answer.wanted.count {
                let batch = states(of: answer.wanted, from: &next)
                guard !batch.isEmpty else { continue }
                _ = try await system.withCallTimeout(settings.antiEntropyInterval * 5) { try await agent.deliverStates(batch) }
            }
        } catch {
            antiEntropy.exchangeFailed(with: peer)
            logger.debug("anti-entropy round failed", metadata: ["peer": "\(peer)", "error": "\(error)"])
        }
    }

    /// Sends `item` to every peer at once and waits until `needed` replicas (this one included)
    /// applied it, or `timeout` passes.
    nonisolated func replicate(_ item: DeltaItem, needed: Int, of replicas: Int, peers: Set<NodeID>, timeout: Duration) async throws {
        guard needed > 1 else { return }
        let system = self.system
        let agents = peers.compactMap { try? ReplicatorAgent.resolve(id: .named(ReplicatorAgent.actorName, on: $0), using: system) }
        let acknowledged = await withTaskGroup(of: Bool.self) { group in
            for agent in agents {
                group.addTask { (try? await system.withCallTimeout(timeout) { try await agent.write(item) }) ?? false }
            }
            var acknowledged = 1
            for await ok in group where ok {
                acknowledged += 1
                if acknowledged >= needed {
                    group.cancelAll()
                    break
                }
            }
            return acknowledged
        }
        guard acknowledged >= needed else {
            throw ReplicationError(
                .consistencyNotReached, key: item.key, acknowledged: acknowledged, needed: needed,
                "\(acknowledged) of \(replicas) replicas acknowledged the write of \(item.key) within \(timeout); it needed \(needed)")
        }
    }

    /// Asks every peer for its value of `key` and waits for `needed` answers (this one included).
    nonisolated func gather(_ key: String, needed: Int, of replicas: Int, peers: Set<NodeID>, timeout: Duration) async throws -> [StateItem] {
        guard needed > 1 else { return [] }
        let system = self.system
        let agents = peers.compactMap { try? ReplicatorAgent.resolve(id: .named(ReplicatorAgent.actorName, on: $0), using: system) }
        let (answers, items) = await withTaskGroup(of: StateItem??.self) { group in
            for agent in agents {
                group.addTask { try? await system.withCallTimeout(timeout) { try await agent.read(key) } }
            }
            var answers = 1
            var items: [StateItem] = []
            for await answer in group {
                guard let answer else { continue }
                answers += 1
                if let item = answer { items.append(item) }
                if answers >= needed {
                    group.cancelAll()
                    break
                }
            }
            return (answers, items)
        }
        guard answers >= needed else {
            throw ReplicationError(
                .consistencyNotReached, key: key, acknowledged: answers, needed: needed,
                "\(answers) of \(replicas) replicas answered the read of \(key) within \(timeout); it needed \(needed)")
        }
        return items
    }

    static func wallMillis() -> UInt64 {
        let (seconds, attoseconds) = Duration.wallClockNow.components
        return UInt64(max(0, seconds)) * 1000 + UInt64(attoseconds / 1_000_000_000_000_000)
    }
}

extension Duration {
    /// Time since the Unix epoch, by the wall clock.
    static var wallClockNow: Duration {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return .seconds(spec.tv_sec) + .nanoseconds(spec.tv_nsec)
    }
}
