import Kumo
import NIOCore

/// The variants the `@Job` macro writes for a function call these; programs may call them
/// directly too, with a closure that appends the arguments.
extension JobDefinition {
    /// Runs `body` (the function itself) in a new task on this node and awaits it.
    public func local(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        async let value = body()
        return try await value
    }

    /// Starts `body` (the function itself) in a new task on this node.
    public func localAsync(_ body: @escaping @Sendable () async throws -> Value) -> JobHandle<Value> {
        JobHandle(job: name, body)
    }

    /// Runs the job on the node the placement chooses, with the arguments `arguments` appends,
    /// and awaits its result.
    /// - Throws: what the job threw (as itself when it is `Codable`), or ``JobError``.
    public func remote(
        options: JobCallOptions = JobCallOptions(), arguments: (inout JobArguments) throws -> Void
    ) async throws -> Value {
        var encoded = JobArguments()
        try arguments(&encoded)
        return try await Jobs.requireRuntime(for: name).call(self, arguments: encoded, options: options)
    }

    /// Starts the job on the node the placement chooses; the handle's value is its result.
    public func remoteAsync(
        options: JobCallOptions = JobCallOptions(), arguments: (inout JobArguments) throws -> Void
    ) -> JobHandle<Value> {
        let encoded = Swift.Result { () throws -> JobArguments in
            var encoded = JobArguments()
            try arguments(&encoded)
            return encoded
        }
        let runtime = Swift.Result { try Jobs.requireRuntime(for: name) }
        return JobHandle(job: name) {
            try await runtime.get().call(self, arguments: try encoded.get(), options: options)
        }
    }

    /// Runs the job once for each of `items` over the nodes, and returns the results in the
    /// order of `items`; the first failure cancels the calls still running and is thrown.
    public func fanout<Item>(
        _ items: [Item], options: FanoutOptions = FanoutOptions(), arguments: (Item, inout JobArguments) throws -> Void
    ) async throws -> [Value] {
        var options = options
        options.failure = .failFast
        let runtime = try Jobs.requireRuntime(for: name)
        let encoded = try encode(items, arguments)
        var values = [Value?](repeating: nil, count: items.count)
        var failure: (any Error)?
        let decoder = runtime.system.makeDecoder()
        await runtime.fanout(name, jobOptions: self.options, items: encoded, options: options) { index, result in
            switch result.flatMap({ decodeResult($0, decoder) }) {
            case .success(let value):
                values[index] = value
                return true
            case .failure(let error):
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        if Task.isCancelled { throw JobError(.cancelled, job: name, node: nil, "the fan-out was cancelled") }
        return try values.map { value in
            guard let value else { throw JobError(.failed, job: name, node: nil, "the fan-out ended with calls unanswered") }
            return value
        }
    }

    /// Runs the job once for each of `items` and returns every call's `Result`, in the order of
    /// `items`; failures do not stop the others.
    public func fanoutResults<Item>(
        _ items: [Item], options: FanoutOptions = FanoutOptions(), arguments: (Item, inout JobArguments) throws -> Void
    ) async -> [Swift.Result<Value, any Error>] {
        var options = options
        options.failure = .collectAll
        let runtime: JobsRuntime
        let encoded: [[UInt8]]
        do {
            runtime = try Jobs.requireRuntime(for: name)
            encoded = try encode(items, arguments)
        } catch {
            return Array(repeating: .failure(error), count: items.count)
        }
        let cancelled = JobError(.cancelled, job: name, node: nil, "the fan-out was cancelled")
        var results = [Swift.Result<Value, any Error>](repeating: .failure(cancelled), count: items.count)
        let decoder = runtime.system.makeDecoder()
        await runtime.fanout(name, jobOptions: self.options, items: encoded, options: options) { index, result in
            results[index] = result.flatMap { decodeResult($0, decoder) }
            return true
        }
        return results
    }

    /// Runs the job once for each of `items` and yields each call's result as it ends, with its
    /// index. With ``FanoutOptions/FailureMode/failFast`` the stream ends after the first
    /// failure; ending the iteration cancels the calls still running.
    public func fanoutStream<Item>(
        _ items: [Item], options: FanoutOptions = FanoutOptions(), arguments: (Item, inout JobArguments) throws -> Void
    ) -> AsyncStream<FanoutItem<Value>> {
        let (stream, continuation) = AsyncStream.makeStream(of: FanoutItem<Value>.self)
        let prepared = Swift.Result { () throws -> (JobsRuntime, [[UInt8]]) in
            (try Jobs.requireRuntime(for: name), try encode(items, arguments))
        }
        let count = items.count
        let task = Task {
            defer { continuation.finish() }
            let runtime: JobsRuntime
            let encoded: [[UInt8]]
            switch prepared {
            case .success(let value): (runtime, encoded) = value
            case .failure(let error):
                for index in 0..<count { continuation.yield(FanoutItem(index: index, result: .failure(error))) }
                return
            }
            let decoder = runtime.system.makeDecoder()
            let failFast = options.failure == .failFast
            await runtime.fanout(name, jobOptions: self.options, items: encoded, options: options) { index, result in
                let result = result.flatMap { decodeResult($0, decoder) }
                continuation.yield(FanoutItem(index: index, result: result))
                if case .failure = result, failFast { return false }
                return true
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func encode<Item>(_ items: [Item], _ arguments: (Item, inout JobArguments) throws -> Void) throws -> [[UInt8]] {
        var encoded: [[UInt8]] = []
        encoded.reserveCapacity(items.count)
        for item in items {
            var one = JobArguments()
            try arguments(item, &one)
            encoded.append(one.bytes)
        }
        return encoded
    }

    private func decodeResult(_ buffer: ByteBuffer, _ decoder: BinaryDecoder) -> Swift.Result<Value, any Error> {
        do {
            return .success(try decode(buffer, decoder))
        } catch {
            return .failure(JobError(.resultMalformed, job: name, node: nil, "a result does not decode as \(Value.self): \(error)"))
        }
    }
}
