import Synchronization

/// A job started in the background: await its ``value``, ``poll()`` it, or ``cancel()`` it
/// (which cancels it on the node that runs it).
public final class JobHandle<Value: Sendable>: Sendable {
    /// The job's stable name.
    public let job: String
    private let task: Task<Value, any Error>
    private let outcome: OutcomeBox<Value>

    init(job: String, _ operation: @escaping @Sendable () async throws -> Value) {
        self.job = job
        let outcome = OutcomeBox<Value>()
        self.outcome = outcome
        self.task = Task {
            do {
                let value = try await operation()
                outcome.set(.success(value))
                return value
            } catch {
                let error = Task.isCancelled && !(error is JobError)
                    ? JobError(.cancelled, job: job, node: nil, "the job was cancelled")
                    : error
                outcome.set(.failure(error))
                throw error
            }
        }
    }

    /// The job's result, once it has one.
    /// - Throws: what the job threw, or ``JobError``.
    public var value: Value {
        get async throws { try await task.value }
    }

    /// The result if the job has finished, `nil` while it runs; never waits.
    /// - Throws: what the job threw, when it failed.
    public func poll() throws -> Value? {
        try outcome.get()?.get()
    }

    /// Whether the job has finished (returned or failed).
    public var isFinished: Bool { outcome.get() != nil }

    /// Cancels the job, where it runs too; ``value`` then throws ``JobError`` with code
    /// ``JobError/Code/cancelled``, unless the job had finished.
    public func cancel() {
        task.cancel()
    }
}

/// The outcome of a background job, once known.
private final class OutcomeBox<Value: Sendable>: Sendable {
    private let storage = Mutex<Result<Value, any Error>?>(nil)
    func set(_ result: Result<Value, any Error>) { storage.withLock { $0 = result } }
    func get() -> Result<Value, any Error>? { storage.withLock { $0 } }
}
