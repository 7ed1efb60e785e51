import DequeModule
import Kumo
import Synchronization

/// Runs, in the task of a gear that runs on the event loop, the gears it arms: the next gear of a
/// loop (Christie's pattern: a gear sets up the next) starts when the one before returns, with no
/// task of its own.
///
/// A queued gear waits only while the thread is busy anyway: when the running gear suspends (a
/// remote put awaiting its reply), a job queued on the loop at the first enqueue finds the runner
/// inside a gear and hands everything queued to tasks of their own, so no gear waits behind
/// another's await. After ``batch`` gears in a row the runner yields the loop, so its networking
/// keeps its turn.
final class GearRunner: Sendable {
    /// A gear armed and waiting for the runner.
    struct Item: Sendable {
        var gear: any CodeGear
        var id: UInt64
        var inputs: [any GearInput]
    }

    private struct State: Sendable {
        var queue: Deque<Item> = []
        var open = true
        var inGear = false
        var watching = false
    }

    /// Gears run in a row before the runner yields the loop.
    static let batch = 64

    @TaskLocal static var current: GearRunner?

    let cgm: CodeGearManager
    /// The task the runner runs in, set once it is created.
    let task = Mutex<Task<Void, Never>?>(nil)
    private let state = Mutex(State())

    init(cgm: CodeGearManager) {
        self.cgm = cgm
    }

    /// Queues `item` to run after the running gear; `false` once the runner has finished.
    func enqueue(_ item: Item) -> Bool {
        let watch = state.withLock { state -> Bool? in
            guard state.open else { return nil }
            state.queue.append(item)
            defer { state.watching = true }
            return !state.watching
        }
        guard let watch else { return false }
        if watch { cgm.system.executor.eventLoop.execute { self.spillIfSuspended() } }
        return true
    }

    /// The next queued gear, or `nil` after which the runner is closed: whatever is armed later
    /// gets a task of its own.
    func next() -> Item? {
        state.withLock { state in
            if let item = state.queue.popFirst() { return item }
            state.open = false
            return nil
        }
    }

    func running(_ inGear: Bool) {
        state.withLock { $0.inGear = inGear }
    }

    /// Runs on the loop: the runner is not on the thread, so if it is inside a gear, that gear
    /// has suspended; what waits behind it gets tasks of its own.
    private func spillIfSuspended() {
        let spilled = state.withLock { state -> Deque<Item> in
            state.watching = false
            guard state.inGear else { return [] }
            defer { state.queue = [] }
            return state.queue
        }
        for item in spilled { cgm.start(item) }
    }
}
