import Kumo
import KumoGears
import Synchronization

/// Counts down a chain of gears in one manager: each takes "n" and, below the end, puts n + 1
/// and arms the next.
@Gear
struct BenchStep {
    @Take("n") var n: Int
    let end: Int
    let done: Signal

    func run(_ cgm: CodeGearManager) async throws {
        guard n < end else {
            done.fire()
            return
        }
        try await cgm.local.put("n", n + 1)
        cgm.setup(BenchStep(end: end, done: done))
    }
}

/// Passes a token around the ring: takes it here, puts it to the DGM on the right.
@Gear
struct BenchPass {
    @Take("token") var token: Int
    let end: Int
    let done: Signal?

    func run(_ cgm: CodeGearManager) async throws {
        guard token < end else {
            done?.fire()
            return
        }
        try await cgm.dgm("right").put("token", token + 1)
        cgm.setup(BenchPass(end: end, done: done))
    }
}

/// Fires once; `wait()` returns after it has.
final class Signal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state -> Bool in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}

/// The part of `gears-ring` each peer runs: a manager named after its place in the ring.
distributed actor GearsBenchAgent {
    typealias ActorSystem = ClusterSystem

    private var cgm: CodeGearManager?

    /// Starts the manager `name`, whose right neighbour is `right` on `node`, passing tokens below `end`.
    distributed func arm(name: String, right: String, on node: NodeID, end: Int, onLoop: Bool) throws {
        let cgm = try self.cgm.flatMap { $0.name == name ? $0 : nil }
            ?? CodeGearManager(name: name, system: actorSystem, runsGearsOnEventLoop: onLoop)
        self.cgm = cgm
        cgm.connect("right", to: right, on: node)
        cgm.setup(BenchPass(end: end, done: nil))
    }
}
