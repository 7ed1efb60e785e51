import Kumo
import Logging
import Synchronization

/// A Code Gear Manager (CGM): it owns one local DGM, knows other managers' DGMs by name, and runs
/// each Code Gear it is given once all the gear's inputs are present.
///
/// Several managers may live in one process, each on its own node (a `ClusterSystem`) or several
/// on one; another manager's DGM is always reached through the cluster, the same path as a DGM
/// on another machine, so a distributed program is tested in one process.
public final class CodeGearManager: Sendable {
    /// The manager's name: its DGM is the system actor `kumo.gears.<name>` on its node.
    public let name: String
    /// The local DGM.
    public let local: DataGearManager
    /// The node the manager runs on.
    public let system: ClusterSystem

    struct Armed: Sendable {
        /// The gear's type (its name is spelled out only when asked for).
        var gear: any CodeGear.Type
        /// The inputs, in the order they are read, and how many have been read.
        var inputs: [any GearInput]
        var read = 0
        var task: Task<Void, Never>?
        /// The runner it runs in, when it runs after the gear that armed it: its task may not be
        /// known yet when the gear starts (the task can run before `start` records it).
        var runner: GearRunner?
    }

    struct State: Sendable {
        var remotes: [String: RemoteDataGears] = [:]
        /// The Topology Managers joined, by their identity.
        var topologies: [TopologyID: JoinedTopology] = [:]
        var armed: [UInt64: Armed] = [:]
        var nextGear: UInt64 = 0
        var failures: [GearFailure] = []
        var closed = false
    }

    let state = Mutex(State())
    private let logger: Logger

    /// Whether gears run on the node's event loop rather than the shared pool: no thread hop
    /// between a gear's inputs arriving and its work, for gears that do little work each (a gear
    /// that computes long on the loop delays the node's networking).
    public let runsGearsOnEventLoop: Bool

    /// A manager named `name` on `system`, whose local DGM holds at most `capacity` gears per key.
    /// - Throws: `ClusterError` `nameTaken` when `system` already runs a manager of that name.
    public init(name: String, system: ClusterSystem, capacity: Int = 65_536, runsGearsOnEventLoop: Bool = false) throws {
        self.name = name
        self.runsGearsOnEventLoop = runsGearsOnEventLoop
        self.system = system
        let local = DataGearManager(name: "local", capacity: capacity, executor: system.executor)
        self.local = local
        var logger = system.logger
        logger[metadataKey: "kumo.cgm"] = "\(name)"
        self.logger = logger
        try system.hostSystemActor(named: DataGearService.actorName(of: name)) {
            DataGearService(dgm: local, actorSystem: system)
        }
        try system.hostSystemActor(named: TopologyAgent.actorName(of: name)) {
            TopologyAgent(cgm: self, actorSystem: system)
        }
    }

    // MARK: DGMs

    /// Makes the local DGM of the manager `manager` on `node` known here as `dgm`.
    public func connect(_ dgm: String, to manager: String, on node: NodeID) {
        let remote = RemoteDataGears(name: dgm, manager: manager, node: node, system: system)
        state.withLock { $0.remotes[dgm] = remote }
    }

    /// Forgets the DGM known here as `dgm`.
    public func disconnect(_ dgm: String) {
        _ = state.withLock { $0.remotes.removeValue(forKey: dgm) }
    }

    /// The DGM known here as `name` (`"local"` is the local one).
    /// - Throws: ``GearError`` `unknownManager`.
    public func dgm(_ name: String) throws(GearError) -> any DataGears {
        if name == "local" { return local }
        guard let remote = state.withLock({ $0.remotes[name] }) else {
            throw GearError(.unknownManager, "manager \(self.name) knows no DGM named \(name)")
        }
        return remote
    }

    /// The names of the DGMs known here besides the local one.
    public var remoteNames: [String] { state.withLock { $0.remotes.keys.sorted() } }

    // MARK: Code Gears

    /// Arms `gear`: it runs once, when all its inputs are present. Inputs are read in the order
    /// of their DGM and key, so two gears that take the same keys never hold one each.
    ///
    /// A gear value is armed once: its inputs hold the values it is given. Arming the same value
    /// again is refused (a failure in ``failures``); arm a new one (`cgm.setup(CountUp())`).
    public func setup(_ gear: some CodeGear) {
        var inputs = gear.inputs
        for input in inputs where !input.claim() {
            let name = Self.name(of: gear)
            let message = "a \(name) was armed twice; its input \(Self.label(input)) would be shared: arm a new gear each time"
            state.withLock { $0.failures.append(GearFailure(gear: name, error: message)) }
            logger.warning("code gear armed twice", metadata: ["kumo.gear": "\(name)"])
            return
        }
        if inputs.count > 1 { inputs.sort { ($0.dgm ?? "", $0.key) < ($1.dgm ?? "", $1.key) } }
        let id: UInt64? = state.withLock { state in
            guard !state.closed else { return nil }
            state.nextGear += 1
            state.armed[state.nextGear] = Armed(gear: type(of: gear), inputs: inputs)
            return state.nextGear
        }
        guard let id else { return }
        let item = GearRunner.Item(gear: gear, id: id, inputs: inputs)
        // Armed by a gear running on the loop: it runs after that gear, in the same task.
        if runsGearsOnEventLoop, let runner = GearRunner.current, runner.cgm === self, runner.enqueue(item) { return }
        start(item)
    }

    /// Starts a task for an armed gear. On the node's event loop, where the DGM is: a gear whose
    /// input was just put is woken without a thread hop. Its `run` goes to the shared pool unless
    /// the manager runs gears on the loop (``runsGearsOnEventLoop``).
    func start(_ item: GearRunner.Item) {
        let runner = runsGearsOnEventLoop ? GearRunner(cgm: self) : nil
        // A gear armed by a put that came in a remote call runs on its own: the put's deadline
        // is not the gear's (a token going round a ring would otherwise stop when the first
        // put's deadline passed).
        let task = Task(executorPreference: system.executor) {
            await ClusterSystem.withoutCallContext {
                if let runner {
                    await self.runInRow(item, runner: runner)
                } else {
                    await self.run(item.gear, id: item.id, inputs: item.inputs)
                }
            }
        }
        runner?.task.withLock { $0 = task }
        state.withLock { state in
            if state.armed[item.id] != nil { state.armed[item.id]?.task = task }
        }
    }

    /// Runs `first` and then the gears it and its successors arm, in this task (``GearRunner``).
    private func runInRow(_ first: GearRunner.Item, runner: GearRunner) async {
        await GearRunner.$current.withValue(runner) {
            var item = first
            var ran = 0
            while true {
                await run(item.gear, id: item.id, inputs: item.inputs, runner: runner)
                ran += 1
                if ran % GearRunner.batch == 0 { await Task.yield() }
                guard let next = runner.next() else { return }
                item = next
                // `close()` cancels the task the gear now runs in.
                let task = runner.task.withLock { $0 }
                state.withLock { state in
                    if state.armed[item.id] != nil {
                        state.armed[item.id]?.task = task
                        state.armed[item.id]?.runner = runner
                    }
                }
            }
        }
    }

    /// The armed gears still waiting, and the inputs each has not read yet (`dgm/key`, or `key`
    /// for the local DGM; inputs are read in that order): a gear waiting on a key nobody puts
    /// shows here at once.
    public var waiting: [WaitingGear] {
        state.withLock { state in
            state.armed.sorted { $0.key < $1.key }.map { id, armed in
                WaitingGear(id: id, gear: Self.name(of: armed.gear), keys: armed.inputs.dropFirst(armed.read).map(Self.label))
            }
        }
    }

    /// The gears that failed: an input that could not be read, or a `run` that threw.
    public var failures: [GearFailure] { state.withLock { $0.failures } }

    /// Cancels every armed gear, frees the names held in Topology Managers, and closes the
    /// local DGM.
    public func close() async {
        let (tasks, topologies) = state.withLock { state -> ([Task<Void, Never>], [TopologyID]) in
            state.closed = true
            return (state.armed.values.compactMap { $0.task ?? $0.runner?.task.withLock { $0 } }, Array(state.topologies.keys))
        }
        for task in tasks { task.cancel() }
        for topology in topologies { await release(topology) }
        await local.close()
    }

    private static func label(_ input: any GearInput) -> String {
        input.dgm.map { "\($0)/\(input.key)" } ?? input.key
    }

    private func run(_ gear: some CodeGear, id: UInt64, inputs: [any GearInput], runner: GearRunner? = nil) async {
        typealias Taken = (dgm: any DataGears, key: String, gear: DataGear)
        // What the inputs before the current one took, and what the current one took.
        var taken: [Taken] = []
        var current: Taken?
        do {
            for (index, input) in inputs.enumerated() {
                current = nil
                let dgm: any DataGears = try input.dgm.map { try self.dgm($0) } ?? local
                let value = input.mode == .take ? try await dgm.takeGear(input.key) : try await dgm.peekGear(input.key)
                if input.mode == .take { current = (dgm, input.key, value) }
                try input.fill(with: value)
                // The last input's read is recorded when the gear leaves `armed`, just below.
                guard index + 1 < inputs.count else { break }
                if let current { taken.append(current) }
                state.withLock { $0.armed[id]?.read += 1 }
            }
        } catch {
            // The gear never runs: what it took goes back, so no value is lost.
            if let current { try? await current.dgm.putGear(current.gear, key: current.key) }
            for item in taken.reversed() { try? await item.dgm.putGear(item.gear, key: item.key) }
            finish(id, gear: gear, error: error)
            return
        }
        state.withLock { _ = $0.armed.removeValue(forKey: id) }
        do {
            if runsGearsOnEventLoop {
                runner?.running(true)
                defer { runner?.running(false) }
                try await gear.run(self)
            } else {
                try await withTaskExecutorPreference(globalConcurrentExecutor) { try await gear.run(self) }
            }
        } catch {
            finish(id, gear: gear, error: error)
        }
    }

    /// A gear type's short name, worked out once per type.
    private static func name(of gear: some CodeGear) -> String {
        name(of: type(of: gear))
    }

    private static func name(of gear: any CodeGear.Type) -> String {
        let id = ObjectIdentifier(gear)
        if let name = gearNames.withLock({ $0[id] }) { return name }
        let name = String(describing: gear)
        gearNames.withLock { $0[id] = name }
        return name
    }

    private static let gearNames = Mutex<[ObjectIdentifier: String]>([:])

    private func finish(_ id: UInt64, gear: some CodeGear, error: any Error) {
        let name = Self.name(of: gear)
        state.withLock { state in
            state.armed.removeValue(forKey: id)
            state.failures.append(GearFailure(gear: name, error: "\(error)"))
        }
        // A gear still waiting when its manager closes is no failure to warn about.
        if !(error is CancellationError), (error as? GearError)?.code != .closed {
            logger.warning("code gear failed", metadata: ["kumo.gear": "\(name)", "error": "\(error)"])
        }
    }
}

/// An armed Code Gear that has not run yet, and the inputs it still waits for.
public struct WaitingGear: Sendable, Equatable, CustomStringConvertible {
    /// The gear's number in its manager.
    public var id: UInt64
    /// The gear's type.
    public var gear: String
    /// The inputs not read yet, in the order they are read: `dgm/key`, or `key` for the local DGM.
    public var keys: [String]

    public var description: String { "\(gear) #\(id) waits for \(keys.joined(separator: ", "))" }
}

/// A Code Gear that did not complete.
public struct GearFailure: Sendable, Equatable, CustomStringConvertible {
    /// The gear's type.
    public var gear: String
    /// What went wrong.
    public var error: String

    public var description: String { "\(gear) failed: \(error)" }
}
