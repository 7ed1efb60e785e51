import Kumo
import Synchronization

/// Coalesces the requests many callers make to one node into few calls: while a call is in
/// flight, what callers ask for waits, and goes out together in the next call. Under load a
/// write costs a record in a batch rather than a remote call of its own (group commit); when
/// quiet, a request goes out at once.
final class Batcher<Element: Sendable, Output: Sendable>: Sendable {
    private struct Waiting: Sendable {
        var elements: [Element]
        var done: @Sendable ([Output]?) -> Void
    }

    private struct State: Sendable {
        var queue: [Waiting] = []
        var sending = false
    }

    private let state = Mutex(State())
    /// Sends one batch; returns one output per element, or `nil` when the call failed.
    private let send: @Sendable ([Element]) async -> [Output]?
    /// The most elements one call carries.
    private let limit: Int

    /// Where the batches are sent from.
    private let executor: any TaskExecutor

    init(limit: Int = 4096, executor: any TaskExecutor, send: @escaping @Sendable ([Element]) async -> [Output]?) {
        self.limit = limit
        self.executor = executor
        self.send = send
    }

    /// Sends `elements` in the next call; their outputs, or `nil` when that call failed.
    func submit(_ elements: [Element]) async -> [Output]? {
        await withCheckedContinuation { continuation in
            submit(elements) { continuation.resume(returning: $0) }
        }
    }

    /// Sends `elements` in the next call, and calls `done` with their outputs (`nil` when that
    /// call failed): several submissions awaited together need no task each.
    func submit(_ elements: [Element], done: @escaping @Sendable ([Output]?) -> Void) {
        let start = state.withLock { state -> Bool in
            state.queue.append(Waiting(elements: elements, done: done))
            guard !state.sending else { return false }
            state.sending = true
            return true
        }
        // The batches outlive the call that started them (an atomic op served at a key's
        // primary, say): they must not inherit its deadline.
        if start { Task(executorPreference: executor) { await ClusterSystem.withoutCallContext { await self.drain() } } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                var count = 0
                var taken = 0
                while taken < state.queue.count, taken == 0 || count + state.queue[taken].elements.count <= limit {
                    count += state.queue[taken].elements.count
                    taken += 1
                }
                let batch = Array(state.queue.prefix(taken))
                state.queue.removeFirst(taken)
                if batch.isEmpty { state.sending = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let outputs = await send(batch.flatMap(\.elements))
            var offset = 0
            for waiting in batch {
                let count = waiting.elements.count
                if let outputs, outputs.count >= offset + count {
                    waiting.done(Array(outputs[offset..<offset + count]))
                } else {
                    waiting.done(nil)
                }
                offset += count
            }
        }
    }
}
