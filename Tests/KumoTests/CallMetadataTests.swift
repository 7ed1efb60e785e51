import Distributed
@testable import Kumo
import KumoCore
import KumoTestKit
import NIOCore
import Testing

/// Reports the call metadata it sees, and what the next actor sees.
distributed actor MetadataEcho {
    typealias ActorSystem = ClusterSystem

    distributed func seen(_ key: String) -> String? {
        ClusterSystem.callMetadata.string(forKey: key)
    }

    /// What this actor sees, then what `next` sees when this actor calls it.
    distributed func relay(_ key: String, via next: MetadataEcho) async throws -> [String?] {
        [ClusterSystem.callMetadata.string(forKey: key), try await next.seen(key)]
    }

    /// Adds an entry of its own before calling on.
    distributed func enrich(via next: MetadataEcho) async throws -> [String?] {
        try await actorSystem.withCallMetadata("added", "by the middle") {
            [try await next.seen("origin"), try await next.seen("added")]
        }
    }
}

/// Sleeps until cancelled, reporting when it started and when it saw the cancellation.
distributed actor Sleeper {
    typealias ActorSystem = ClusterSystem

    let started: AsyncStream<Void>.Continuation
    let cancelled: AsyncStream<ContinuousClock.Instant>.Continuation

    init(started: AsyncStream<Void>.Continuation, cancelled: AsyncStream<ContinuousClock.Instant>.Continuation,
         actorSystem: ClusterSystem)
    {
        self.started = started
        self.cancelled = cancelled
        self.actorSystem = actorSystem
    }

    distributed func sleep(seconds: Int) async -> Bool {
        started.yield()
        do {
            try await Task.sleep(for: .seconds(seconds))
            return false
        } catch {
            cancelled.yield(.now)
            return true
        }
    }
}

extension ClusterTimingTests {
    @Suite("Call metadata and cancellation on the wire", .timeLimit(.minutes(1)))
    struct CallMetadataTests {
        @Test("metadata set around a call reaches the callee and travels on into its own calls, across three nodes")
        func propagation() async throws {
            try await withLocalCluster(nodes: 3) { nodes in
                let middle = MetadataEcho(actorSystem: nodes[1])
                let last = MetadataEcho(actorSystem: nodes[2])
                let remoteMiddle = try MetadataEcho.resolve(id: middle.id, using: nodes[0])
                let remoteLast = try MetadataEcho.resolve(id: last.id, using: nodes[1])
                #expect(try await remoteMiddle.seen("kumo.job.id") == nil)
                let seen = try await nodes[0].withCallMetadata("kumo.job.id", "job-42") {
                    try await remoteMiddle.relay("kumo.job.id", via: remoteLast)
                }
                #expect(seen == ["job-42", "job-42"])
                let enriched = try await nodes[0].withCallMetadata("origin", "node0") {
                    try await remoteMiddle.enrich(via: remoteLast)
                }
                #expect(enriched == ["node0", "by the middle"])
                // Outside the block, calls carry nothing.
                #expect(try await remoteMiddle.seen("origin") == nil)
                await #expect(throws: ClusterError(.invalidConfiguration, "")) {
                    try await nodes[0].withCallMetadata("too big", [UInt8](repeating: 0, count: 5000)) {}
                }
            }
        }

        @Test("cancelling the calling task cancels the callee's task within 100 ms")
        func cancellationReachesTheCallee() async throws {
            try await withLocalCluster(nodes: 2) { nodes in
                let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
                let (cancelled, cancelledContinuation) = AsyncStream.makeStream(of: ContinuousClock.Instant.self)
                let sleeper = Sleeper(started: startedContinuation, cancelled: cancelledContinuation, actorSystem: nodes[0])
                let remote = try Sleeper.resolve(id: sleeper.id, using: nodes[1])
                let call = Task {
                    try await nodes[1].withCallTimeout(.seconds(90)) { try await remote.sleep(seconds: 60) }
                }
                var startedIterator = started.makeAsyncIterator()
                _ = await startedIterator.next()
                let cancelledAt = ContinuousClock.now
                call.cancel()
                await #expect(throws: ClusterError(.cancelled, "")) { _ = try await call.value }
                var cancelledIterator = cancelled.makeAsyncIterator()
                let seen = try #require(await cancelledIterator.next())
                // The connection keeps serving; a round trip on it now shows how loaded the machine is
                // (the whole suite runs at once on two cores): a cancel costs one one-way trip.
                let echo = MetadataEcho(actorSystem: nodes[0])
                let remoteEcho = try MetadataEcho.resolve(id: echo.id, using: nodes[1])
                let before = ContinuousClock.now
                #expect(try await remoteEcho.seen("x") == nil)
                let roundTrip = ContinuousClock.now - before
                let latency = seen - cancelledAt
                #expect(
                    latency < .milliseconds(100) || latency < roundTrip * 2,
                    "the callee saw the cancellation after \(latency) (a round trip took \(roundTrip))")
            }
        }

        @Test("a call whose metadata breaks a bound is refused with a reason; a cancel for no call is ignored; the connection keeps serving")
        func badInput() async throws {
            try await withLocalCluster(nodes: 2) { nodes in
                let echo = MetadataEcho(actorSystem: nodes[0])
                let connection = try await nodes[1].connection(to: nodes[0].node)
                let target = try connection.outbox.targetID(for: "$s9KumoTests12MetadataEchoC4seenySSSgSSYaKFTE")
                let callID = connection.makeCallID()
                var frame = ByteBuffer()
                let start = frame.beginFrame(.call)
                frame.writeWireVarint(callID)
                frame.writeInteger(UInt8(0))
                frame.writeWireVarint(UInt64(target))
                frame.writeWireActorPath(echo.id.path)
                frame.writeWireVarint(UInt64(5000))
                frame.writeWireVarint(40)
                for index in 0..<40 {
                    frame.writeWireString("key\(index)")
                    frame.writeWireVarint(1)
                    frame.writeInteger(UInt8(index))
                }
                frame.writeWireVarint(0)
                frame.writeWireVarint(1)
                var argument = ByteBuffer()
                try BinaryEncoder().encode("key0", into: &argument)
                frame.writeInteger(UInt32(argument.readableBytes))
                frame.writeBuffer(&argument)
                frame.endFrame(startedAt: start)
                let reply = try await connection.call(
                    OutboundFrame(frame), id: callID, deadline: .now() + .seconds(5), orderingKey: 0)
                #expect(reply.status == .error)
                let envelope = try RemoteErrorEnvelope(body: reply.payload)
                #expect(envelope.message.contains("40 metadata entries"), "\(envelope.message)")

                var cancel = ByteBuffer()
                CancelMessage(callID: 987_654).write(to: &cancel)
                try connection.outbox.enqueue(cancel)

                #expect(try await MetadataEcho.resolve(id: echo.id, using: nodes[1]).seen("key0") == nil)
                #expect(connection.isActive)
            }
        }
    }
}

/// Starts background work inside a call: a task that calls `next` after the call has returned.
distributed actor Spawner {
    typealias ActorSystem = ClusterSystem

    /// Calls `next.seen` after `delay`, from a task this call starts and does not wait for:
    /// inheriting the call's context, or on its own.
    distributed func later(_ next: MetadataEcho, after delay: Duration, independent: Bool) -> Void {
        let outcome = outcome
        Task {
            try? await Task.sleep(for: delay)
            do {
                if independent {
                    _ = try await ClusterSystem.withoutCallContext { try await next.seen("x") }
                } else {
                    _ = try await next.seen("x")
                }
                outcome.yield("answered")
            } catch let error as ClusterError {
                outcome.yield("\(error.code)")
            } catch {
                outcome.yield("\(error)")
            }
        }
    }

    let outcome: AsyncStream<String>.Continuation

    init(outcome: AsyncStream<String>.Continuation, actorSystem: ClusterSystem) {
        self.outcome = outcome
        self.actorSystem = actorSystem
    }
}

extension ClusterTimingTests {
    @Suite("Work a call starts and does not wait for", .timeLimit(.minutes(1)))
    struct CallContextTests {
        @Test("a task started in a call inherits its deadline; in withoutCallContext it has its own")
        func backgroundWork() async throws {
            try await withLocalCluster(nodes: 2) { nodes in
                let (outcomes, continuation) = AsyncStream<String>.makeStream()
                let spawner = Spawner(outcome: continuation, actorSystem: nodes[1])
                let echo = MetadataEcho(actorSystem: nodes[0])
                let remote = try Spawner.resolve(id: spawner.id, using: nodes[0])
                let echoThere = try MetadataEcho.resolve(id: echo.id, using: nodes[1])
                var iterator = outcomes.makeAsyncIterator()
                // A second for the call itself: the rest of the suite runs beside this one (CI
                // saw a 300 ms deadline pass for a call that only starts a task); the task's own
                // call comes half a second after that deadline.
                try await nodes[0].withCallTimeout(.seconds(1)) {
                    try await remote.later(echoThere, after: .milliseconds(1500), independent: false)
                }
                #expect(await iterator.next() == "timeout", "the inherited deadline had passed")
                try await nodes[0].withCallTimeout(.seconds(1)) {
                    try await remote.later(echoThere, after: .milliseconds(1500), independent: true)
                }
                #expect(await iterator.next() == "answered")
            }
        }
    }
}
