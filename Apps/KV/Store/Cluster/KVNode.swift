import Kumo
import Logging
import Synchronization

/// One node of the key-value store: it holds its replicas, coordinates every command a client
/// sends it, whichever nodes hold the keys, and keeps each key on `replicas` live nodes.
///
/// - Keys are placed by rendezvous hashing over the live `kumo-kv` nodes (``Placement``).
/// - A write goes to every live holder of its key and is acknowledged once each applied it; a
///   holder that does not answer is retried until it answers or the cluster downs it.
/// - Reads that change a key (INCR, SET NX/XX, DEL) are decided at its primary, one at a time.
/// - When a node joins, leaves or dies, each node sends the keys it holds to their new holders,
///   so a dead node's keys are re-replicated from the survivors and a returning node catches up.
public final class KVNode: Sendable {
    public let system: ClusterSystem
    public let store: KVStore
    public let replicas: Int
    let clock = HybridClock()
    private let tag: UInt64
    private let logger: Logger
    private let state: Mutex<State>
    private let peerActor = Mutex<KVPeer?>(nil)
    /// Per node: the writes and the reads on their way to it, batched.
    private let pipes = Mutex<[NodeID: Pipes]>([:])

    private struct Pipes: Sendable {
        var apply: Batcher<KVRecord, Bool>
        var get: Batcher<String, [UInt8]?>
    }

    private struct State: Sendable {
        var placement: Placement
        /// The nodes that run the store (the registry's `kumo-kv` listing).
        var storeNodes: Set<NodeID> = []
        var tasks: [Task<Void, Never>] = []
        /// Bumped by every placement change: a re-replication of an older one stops.
        var generation = 0
        /// The generation whose re-replication has finished.
        var rereplicated = 0
    }

    /// How long a write waits for a holder that does not answer before it fails.
    public static let writePatience = Duration.seconds(15)

    /// Starts a store node on `system`, keeping each key on `replicas` nodes.
    public static func start(on system: ClusterSystem, replicas: Int, store: KVStore) async throws -> KVNode {
        let node = KVNode(system: system, replicas: replicas, store: store)
        let peer = try system.withActorName(KVPeer.actorName) { KVPeer(node: node, actorSystem: system) }
        node.peerActor.withLock { $0 = peer }
        try await system.register(peer, as: KVPeer.actorName)
        node.follow()
        return node
    }

    private init(system: ClusterSystem, replicas: Int, store: KVStore) {
        self.system = system
        self.replicas = max(1, replicas)
        self.store = store
        self.tag = Placement.hash(system.node.description)
        var logger = system.logger
        logger[metadataKey: "kumo.app"] = "kv"
        self.logger = logger
        self.state = Mutex(State(placement: Placement(nodes: [system.node], replicas: replicas)))
    }

    /// The node's distributed actor, for the program to keep alive.
    public var actor: (any DistributedActor)? { peerActor.withLock { $0 } }

    /// The live store nodes and how keys are placed over them now.
    public var placement: Placement { state.withLock { $0.placement } }

    private var me: NodeID { system.node }

    /// Stops following the cluster.
    public func close() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            defer { state.tasks = [] }
            return state.tasks
        }
        for task in tasks { task.cancel() }
    }

    // MARK: The live nodes

    private func follow() {
        let listing = Task { [weak self, system] in
            for await ids in await system.listing(KVPeer.actorName) {
                guard let self else { return }
                self.state.withLock { $0.storeNodes = Set(ids.map(\.node)) }
                await self.refresh()
            }
        }
        let membership = Task { [weak self, system] in
            for await _ in await system.membershipEvents() {
                guard let self else { return }
                await self.refresh()
            }
        }
        let purge = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                // Tombstones and expired values are kept ten minutes, so that a stale copy
                // arriving late does not bring a deleted key back.
                self?.store.purge(olderThan: 600_000)
            }
        }
        state.withLock { $0.tasks += [listing, membership, purge] }
    }

    /// Recomputes the placement from the membership and the listing; re-replicates on change.
    private func refresh() async {
        let up = Set(await system.members().filter { $0.status == .up }.map(\.node))
        let change = state.withLock { state -> (Placement, Placement, Int)? in
            let nodes = state.storeNodes.union([me]).filter { $0 == me || up.contains($0) }
            let placement = Placement(nodes: Array(nodes), replicas: replicas)
            guard placement != state.placement else { return nil }
            let old = state.placement
            state.placement = placement
            state.generation += 1
            return (old, placement, state.generation)
        }
        guard let (old, new, generation) = change else { return }
        logger.info("store nodes changed", metadata: ["kumo.kv.nodes": "\(new.nodes.count)"])
        let task = Task { await self.rereplicate(from: old, to: new, generation: generation) }
        state.withLock { $0.tasks.append(task) }
    }

    /// Sends each record held here to the holders the new placement adds.
    private func rereplicate(from old: Placement, to new: Placement, generation: Int) async {
        var outgoing: [NodeID: [KVRecord]] = [:]
        for record in store.records() {
            let previous = Set(old.holders(of: record.key))
            for holder in new.holders(of: record.key) where holder != me && !previous.contains(holder) {
                outgoing[holder, default: []].append(record)
            }
        }
        for (node, records) in outgoing {
            for start in stride(from: 0, to: records.count, by: 1000) {
                guard state.withLock({ $0.generation == generation }) else { return }
                let chunk = Array(records[start..<min(start + 1000, records.count)])
                do {
                    try await peer(on: node).apply(KVRecordCoding.encode(chunk))
                } catch {
                    logger.debug("re-replication to a node failed", metadata: ["kumo.node": "\(node)", "error": "\(error)"])
                    break
                }
            }
        }
        if !outgoing.isEmpty {
            logger.info("re-replicated keys", metadata: ["kumo.kv.records": "\(outgoing.values.reduce(0) { $0 + $1.count })"])
        }
        state.withLock { state in
            if state.generation == generation { state.rereplicated = generation }
        }
    }

    /// Whether this node has sent the holders of the current placement what it holds for them.
    public var isRereplicated: Bool { state.withLock { $0.rereplicated == $0.generation } }

    private func peer(on node: NodeID) throws -> KVPeer {
        try KVPeer.resolve(id: .named(KVPeer.actorName, on: node), using: system)
    }

    private func pipes(to node: NodeID) -> Pipes {
        pipes.withLock { pipes in
            if let existing = pipes[node] { return existing }
            let system = system
            let peer = { @Sendable () throws -> KVPeer in try KVPeer.resolve(id: .named(KVPeer.actorName, on: node), using: system) }
            let made = Pipes(
                apply: Batcher(executor: system.executor) { records in
                    do {
                        try await peer().apply(KVRecordCoding.encode(records))
                        return Array(repeating: true, count: records.count)
                    } catch {
                        return nil
                    }
                },
                get: Batcher(executor: system.executor) { keys in
                    guard let bytes = try? await peer().get(KVListCoding.encode(keys: keys)) else { return nil }
                    return try? KVListCoding.decode(bytes)
                })
            pipes[node] = made
            return made
        }
    }

    /// Applies `records` at `node`, in a batch with other writes to it.
    private func apply(_ records: [KVRecord], at node: NodeID) async -> Bool {
        await pipes(to: node).apply.submit(records) != nil
    }

    /// Reads `keys` at `node`, in a batch with other reads from it; `nil` when it did not answer.
    private func get(_ keys: [String], at node: NodeID) async -> [[UInt8]?]? {
        await pipes(to: node).get.submit(keys)
    }

    func applyHere(_ records: [KVRecord]) throws {
        for record in records { clock.observe(record.entry.version.time) }
        try store.apply(records)
    }

    // MARK: Writes

    private func version() -> KVVersion {
        KVVersion(time: clock.next(), node: tag)
    }

    /// Writes `records` to every live holder of their keys (and here if `appliedHere` is false
    /// and this node holds them); returns once each applied them, or an error reply.
    func replicate(_ records: [KVRecord], appliedHere: Bool) async -> RESPValue? {
        var acknowledged: [NodeID: Set<Int>] = [:]
        if appliedHere { acknowledged[me] = Set(records.indices) }
        let clock = ContinuousClock()
        let deadline = clock.now + Self.writePatience
        while true {
            let placement = self.placement
            var pending: [NodeID: [Int]] = [:]
            for (index, record) in records.enumerated() {
                for holder in placement.holders(of: record.key) where acknowledged[holder]?.contains(index) != true {
                    pending[holder, default: []].append(index)
                }
            }
            if pending.isEmpty { return nil }
            if let indices = pending.removeValue(forKey: me) {
                do {
                    try applyHere(indices.map { records[$0] })
                    acknowledged[me, default: []].formUnion(indices)
                } catch {
                    return .err("this node could not store the write: \(error)")
                }
            }
            let applied: [(NodeID, [Int])]
            if pending.isEmpty {
                // Only this node holds the keys.
                applied = []
            } else if pending.count == 1, let (node, indices) = pending.first {
                // One holder to write to: no task group.
                applied = await apply(indices.map { records[$0] }, at: node) ? [(node, indices)] : []
            } else {
                // Every holder at once, with no task each: the batches' answers are gathered.
                let targets = Array(pending)
                let results = await withCheckedContinuation { (continuation: CheckedContinuation<[Bool], Never>) in
                    let gather = Gather(count: targets.count, continuation: continuation)
                    for (slot, (node, indices)) in targets.enumerated() {
                        pipes(to: node).apply.submit(indices.map { records[$0] }) { gather.set(slot, $0 != nil) }
                    }
                }
                applied = zip(targets, results).compactMap { $1 ? $0 : nil }
            }
            for (node, indices) in applied { acknowledged[node, default: []].formUnion(indices) }
            if applied.count < pending.count {
                // A holder did not answer: it answers, or the cluster downs it and the keys move.
                guard clock.now < deadline else {
                    return .err("a replica did not apply the write within \(Self.writePatience); it was not acknowledged")
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Runs `op` at the key's primary (here or remotely).
    private func atomic(_ op: AtomicOp, key: String) async -> AtomicOutcome {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.writePatience
        while true {
            guard let primary = placement.primary(of: key) else { return .failure("no store node is up") }
            if primary == me { return await runAtomic(op) }
            do {
                return try await peer(on: primary).atomic(op)
            } catch {
                guard clock.now < deadline else { return .failure("the primary of the key did not answer") }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Decides `op` here, as the key's primary, and replicates what it wrote.
    func runAtomic(_ op: AtomicOp) async -> AtomicOutcome {
        let now = KVStore.now()
        let record: KVRecord?
        let outcome: AtomicOutcome
        do {
            switch op {
            case .set(let key, let value, let expiresAt, let ifAbsent):
                (record, outcome) = try store.update(key, now: now) { current in
                    guard (current == nil) == ifAbsent else { return (nil, .done(false)) }
                    return (KVEntry(value: value, version: self.version(), expiresAt: expiresAt), .done(true))
                }
            case .del(let key):
                (record, outcome) = try store.update(key, now: now) { current in
                    guard current != nil else { return (nil, .done(false)) }
                    return (KVEntry(value: nil, version: self.version()), .done(true))
                }
            case .incrBy(let key, let delta):
                let expiry = store.entry(key).flatMap { $0.live(at: now) == nil ? nil : $0.expiresAt }
                (record, outcome) = try store.update(key, now: now) { current in
                    let number: Int64
                    if let current {
                        guard let parsed = Int64(String(decoding: current, as: UTF8.self)), current.count < 21 else {
                            return (nil, .failure("value is not an integer or out of range"))
                        }
                        number = parsed
                    } else {
                        number = 0
                    }
                    let (sum, overflow) = number.addingReportingOverflow(delta)
                    guard !overflow else { return (nil, .failure("increment or decrement would overflow")) }
                    return (KVEntry(value: Array(String(sum).utf8), version: self.version(), expiresAt: expiry), .integer(sum))
                }
            }
        } catch {
            return .failure("this node could not store the write: \(error)")
        }
        guard let record else { return outcome }
        if let failure = await replicate([record], appliedHere: true), case .error(let text) = failure {
            return .failure(String(text.dropFirst(4)))
        }
        return outcome
    }

    // MARK: Reads

    /// The live values under `keys`: here when this node holds a key, else from a holder; a
    /// miss here is checked with another holder (a new holder may still be catching up).
    func read(_ keys: [String]) async -> [[UInt8]?] {
        let placement = self.placement
        let now = KVStore.now()
        var values = [[UInt8]?](repeating: nil, count: keys.count)
        // For each key not found here, the other holders to ask, in order: the next is asked
        // when one misses or does not answer (a holder that died and is not yet downed, a new
        // holder still catching up).
        var candidates: [Int: ArraySlice<NodeID>] = [:]
        for (index, key) in keys.enumerated() {
            let holders = placement.holders(of: key)
            if holders.contains(me), let value = store.value(key, now: now) {
                values[index] = value
                continue
            }
            let others = holders.filter { $0 != me }
            if !others.isEmpty { candidates[index] = others[...] }
        }
        while !candidates.isEmpty {
            var round: [NodeID: [Int]] = [:]
            for (index, nodes) in candidates {
                if let node = nodes.first { round[node, default: []].append(index) }
            }
            let found: [(Int, [UInt8]?)]
            if round.count == 1, let (node, indices) = round.first {
                // One node to ask (a GET): no task group.
                let values = await get(indices.map { keys[$0] }, at: node)
                found = values.map { Array(zip(indices, $0)) } ?? indices.map { ($0, nil) }
            } else {
                found = await withTaskGroup(of: [(Int, [UInt8]?)].self) { group in
                    for (node, indices) in round {
                        group.addTask {
                            guard let found = await self.get(indices.map { keys[$0] }, at: node) else {
                                return indices.map { ($0, nil) }
                            }
                            return Array(zip(indices, found))
                        }
                    }
                    var all: [(Int, [UInt8]?)] = []
                    for await results in group { all += results }
                    return all
                }
            }
            for (index, value) in found {
                if let value {
                    values[index] = value
                    candidates.removeValue(forKey: index)
                } else {
                    candidates[index] = candidates[index]?.dropFirst()
                    if candidates[index]?.isEmpty == true { candidates.removeValue(forKey: index) }
                }
            }
        }
        return values
    }

    /// The value under `key` here or at a holder, if it is there now (for the fast path).
    func readHere(_ key: String) -> [UInt8]?? {
        let placement = self.placement
        guard placement.holds(me, key) else { return nil }
        guard let value = store.value(key) else { return placement.nodes.count == 1 || placement.replicas == 1 ? .some(nil) : nil }
        return .some(value)
    }

    /// Every live key of every store node.
    private func allKeys() async -> [String] {
        let nodes = placement.nodes
        var keys = Set(store.keys())
        await withTaskGroup(of: [String].self) { group in
            for node in nodes where node != me {
                group.addTask { (try? await self.peer(on: node).keys()) ?? [] }
            }
            for await found in group { keys.formUnion(found) }
        }
        return keys.sorted()
    }

    // MARK: Commands without a task

    /// Starts a GET or a plain SET with no task of its own, when its work is one batch per node
    /// (the usual case); `done` gets the reply. Returns `false` for any other command, which
    /// goes to ``execute(_:)``. A batch that fails hands the command to the general path, which
    /// retries.
    func start(_ command: KVCommand, done: @escaping @Sendable (RESPValue) -> Void) -> Bool {
        switch command {
        case .get(let key):
            let placement = self.placement
            let holders = placement.holders(of: key)
            if holders.contains(me), let value = store.value(key) {
                done(.bulk(value))
                return true
            }
            guard let other = holders.first(where: { $0 != me }) else { return false }
            pipes(to: other).get.submit([key]) { values in
                if let value = values?.first, let value {
                    done(.bulk(value))
                } else {
                    // A miss or no answer: the next holder, or the miss, on the general path.
                    Task(executorPreference: self.system.executor) { done(await self.execute(.get(key))) }
                }
            }
            return true
        case .set(let key, let value, let expiresIn, nil):
            let record = KVRecord(
                key: key, entry: KVEntry(value: value, version: version(), expiresAt: expiresIn.map { KVStore.now() + $0 }))
            var remote: [NodeID] = []
            for holder in placement.holders(of: key) {
                if holder == me {
                    // This node's own version: nothing for its clock to learn.
                    guard (try? store.apply(record)) != nil else { return false }
                } else {
                    remote.append(holder)
                }
            }
            if remote.isEmpty {
                done(.ok)
                return true
            }
            if remote.count == 1 {
                pipes(to: remote[0]).apply.submit([record]) { result in
                    if result != nil {
                        done(.ok)
                    } else {
                        Task(executorPreference: self.system.executor) { done(await self.replicate([record], appliedHere: false) ?? .ok) }
                    }
                }
                return true
            }
            let gather = Gather(count: remote.count) { results in
                if results.allSatisfy({ $0 }) {
                    done(.ok)
                } else {
                    // Applying the same version again changes nothing where it was applied.
                    Task(executorPreference: self.system.executor) { done(await self.replicate([record], appliedHere: false) ?? .ok) }
                }
            }
            for (slot, node) in remote.enumerated() {
                pipes(to: node).apply.submit([record]) { gather.set(slot, $0 != nil) }
            }
            return true
        default:
            return false
        }
    }

    /// Starts the plain SETs of one read of a pipeline together: one placement, one clock lock,
    /// one store lock for those held here, one batch per other holder. `done` gets a reply per
    /// SET, in order; a batch that fails sends its SETs down the general path, which retries.
    func startSets(_ sets: [(key: String, value: [UInt8])], done: @escaping @Sendable ([RESPValue]) -> Void) {
        let placement = self.placement
        let first = clock.next(count: sets.count)
        var made: [KVRecord] = []
        made.reserveCapacity(sets.count)
        var here: [KVRecord] = []
        var remote: [NodeID: [Int]] = [:]
        for (index, set) in sets.enumerated() {
            let record = KVRecord(
                key: set.key, entry: KVEntry(value: set.value, version: KVVersion(time: first + UInt64(index), node: tag)))
            made.append(record)
            for holder in placement.holders(of: set.key) {
                if holder == me { here.append(record) } else { remote[holder, default: []].append(index) }
            }
        }
        do {
            try store.apply(here)
        } catch {
            return done(Array(repeating: .err("this node could not store the write: \(error)"), count: sets.count))
        }
        if remote.isEmpty { return done(Array(repeating: .ok, count: sets.count)) }
        let targets = Array(remote)
        let records = made
        let gather = Gather(count: targets.count) { applied in
            let failed = zip(targets, applied).filter { !$1 }.flatMap { $0.0.1 }
            guard !failed.isEmpty else { return done(Array(repeating: .ok, count: sets.count)) }
            // Applying the same versions again changes nothing where they were applied.
            Task(executorPreference: self.system.executor) {
                let retry = Array(Set(failed)).sorted().map { records[$0] }
                let outcome = await self.replicate(retry, appliedHere: false) ?? .ok
                var replies = [RESPValue](repeating: .ok, count: sets.count)
                for index in failed { replies[index] = outcome }
                done(replies)
            }
        }
        for (slot, (node, indices)) in targets.enumerated() {
            pipes(to: node).apply.submit(indices.map { records[$0] }) { gather.set(slot, $0 != nil) }
        }
    }

    // MARK: Commands

    /// Runs a client's command and returns the reply.
    public func execute(_ command: KVCommand) async -> RESPValue {
        switch command {
        case .ping(let message):
            return message.map { .bulk($0) } ?? .simple("PONG")
        case .echo(let bytes):
            return .bulk(bytes)
        case .get(let key):
            return .bulk(await read([key])[0])
        case .mget(let keys):
            return .array(await read(keys).map { .bulk($0) })
        case .exists(let keys):
            return .integer(Int64(await read(keys).filter { $0 != nil }.count))
        case .set(let key, let value, let expiresIn, let condition):
            let expiresAt = expiresIn.map { KVStore.now() + $0 }
            guard let condition else {
                let record = KVRecord(key: key, entry: KVEntry(value: value, version: version(), expiresAt: expiresAt))
                return await replicate([record], appliedHere: false) ?? .ok
            }
            switch await atomic(.set(key, value, expiresAt: expiresAt, ifAbsent: condition == .ifAbsent), key: key) {
            case .done(true): return .ok
            case .failure(let message): return .err(message)
            default: return .null
            }
        case .mset(let pairs):
            // Not atomic across keys: each key is written to its holders, all before the reply.
            var latest: [String: [UInt8]] = [:]
            for (key, value) in pairs { latest[key] = value }
            let records = latest.map { KVRecord(key: $0.key, entry: KVEntry(value: $0.value, version: version())) }
            return await replicate(records, appliedHere: false) ?? .ok
        case .del(let keys):
            var removed: Int64 = 0
            for key in keys {
                switch await atomic(.del(key), key: key) {
                case .done(true): removed += 1
                case .failure(let message): return .err(message)
                default: break
                }
            }
            return .integer(removed)
        case .incrBy(let key, let delta):
            switch await atomic(.incrBy(key, delta), key: key) {
            case .integer(let value): return .integer(value)
            case .failure(let message): return .err(message)
            case .done: return .err("unexpected reply")
            }
        case .keys(let pattern):
            return .array(await allKeys().filter { globMatches(pattern, $0) }.map { .bulk($0) })
        case .scan(let cursor, let match, let count):
            let keys = await allKeys().filter { key in match.map { globMatches($0, key) } ?? true }
            let page = keys.dropFirst(cursor).prefix(count)
            let next = cursor + count >= keys.count ? 0 : cursor + count
            return .array([.bulk(String(next)), .array(page.map { .bulk($0) })])
        case .dbsize:
            return .integer(Int64(await allKeys().count))
        case .flushall:
            let nodes = placement.nodes
            do {
                try store.removeAll()
                for node in nodes where node != me { try await peer(on: node).flush() }
            } catch {
                return .err("FLUSHALL did not reach every node: \(error)")
            }
            return .ok
        case .info:
            return .bulk(info())
        case .ttl(let key, let milliseconds):
            return .integer(await ttl(key, milliseconds: milliseconds))
        case .quit:
            return .ok
        case .select(let index):
            return index == 0 ? .ok : .err("DB index is out of range")
        case .command:
            return .array([])
        case .configGet(let pattern):
            // What redis-benchmark asks when it starts (it warns when they are missing).
            let known = [("save", ""), ("appendonly", "no")]
            return .array(known.filter { globMatches(pattern.lowercased(), $0.0) }.flatMap { [RESPValue.bulk($0.0), .bulk($0.1)] })
        }
    }

    private func ttl(_ key: String, milliseconds: Bool) async -> Int64 {
        let placement = self.placement
        let holders = placement.holders(of: key)
        var entry: KVEntry?
        if holders.contains(me) { entry = store.entry(key) }
        if entry == nil, let other = holders.first(where: { $0 != me }) {
            entry = (try? await peer(on: other).entries([key]))?.first ?? nil
        }
        let now = KVStore.now()
        guard let entry, entry.live(at: now) != nil else { return -2 }
        guard let expiresAt = entry.expiresAt else { return -1 }
        let left = Int64(expiresAt - now)
        return milliseconds ? left : (left + 500) / 1000
    }

    private func info() -> String {
        let placement = self.placement
        return """
            # Server\r
            kumo_kv_version:1\r
            redis_version:7.0.0\r
            node:\(me)\r
            # Cluster\r
            store_nodes:\(placement.nodes.count)\r
            replicas:\(replicas)\r
            rereplication:\(isRereplicated ? "idle" : "running")\r
            # Keyspace\r
            keys_here:\(store.count)\r

            """
    }
}

/// Collects the answers of several submissions, and hands all of them on once the last has come.
private final class Gather: Sendable {
    private let state: Mutex<(results: [Bool], left: Int)>
    private let finish: @Sendable ([Bool]) -> Void

    init(count: Int, finish: @escaping @Sendable ([Bool]) -> Void) {
        state = Mutex((Array(repeating: false, count: count), count))
        self.finish = finish
        if count == 0 { finish([]) }
    }

    convenience init(count: Int, continuation: CheckedContinuation<[Bool], Never>) {
        self.init(count: count) { continuation.resume(returning: $0) }
    }

    func set(_ slot: Int, _ value: Bool) {
        let finished = state.withLock { state -> [Bool]? in
            state.results[slot] = value
            state.left -= 1
            return state.left == 0 ? state.results : nil
        }
        if let finished { finish(finished) }
    }
}
