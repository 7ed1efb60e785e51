import Distributed
import KumoCore
import NIOCore

extension ClusterSystem {
    public func makeInvocationEncoder() -> InvocationEncoder {
        KumoInvocationEncoder(bulkThreshold: settings.chunkSize)
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type,
        returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: Codable {
        let started = metrics.clock()
        var calls: CallMetrics?
        do {
            let result = try await call(&invocation, to: actor.id, target: target, returning: Res.self, calls: &calls)
            calls?.succeeded(since: started)
            return result
        } catch {
            recordFailure(error, target: target, calls: calls, since: started)
            throw error
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        let started = metrics.clock()
        var calls: CallMetrics?
        do {
            let reply = try await send(&invocation, to: actor.id, target: target, calls: &calls)
            if reply.status == .error {
                throw remoteError(from: reply.payload, target: target, node: actor.id.node)
            }
            calls?.succeeded(since: started)
        } catch {
            recordFailure(error, target: target, calls: calls, since: started)
            throw error
        }
    }

    /// Counts a failed call in the caller's metrics; a call that failed before it found its
    /// connection's handles looks them up (under a lock: on the failure path only).
    private func recordFailure(_ error: any Error, target: RemoteCallTarget, calls: CallMetrics?, since started: UInt64) {
        guard started != 0 else { return }
        (calls ?? metrics.clientCalls(for: target.identifier)).failed(CallMetrics.code(of: error), since: started)
    }

    /// Sends a call and decodes its result.
    private func call<Res: Codable>(
        _ invocation: inout InvocationEncoder, to id: ActorID, target: RemoteCallTarget, returning: Res.Type,
        calls: inout CallMetrics?
    ) async throws -> Res {
        var reply = try await send(&invocation, to: id, target: target, calls: &calls)
        switch reply.status {
        case .value:
            // The arrays move into the store, so the reply holds no reference to the result's.
            let attachments = reply.attachments.isEmpty ? nil : BinaryAttachments(reply.attachments)
            reply.attachments = []
            do {
                return try makeDecoder().decode(Res.self, from: reply.payload, attachments: attachments)
            } catch {
                throw ClusterError(
                    .resultDecodingFailed, "cannot decode the result of \(target) as \(Res.self): \(describe(error))",
                    node: id.node)
            }
        case .void:
            throw ClusterError(.protocolError, "\(target) returned nothing; a \(Res.self) was expected", node: id.node)
        case .error:
            throw remoteError(from: reply.payload, target: target, node: id.node)
        }
    }

    /// Sends a call and waits for its reply; `calls` gets the caller's metrics for the target
    /// once the call has its connection.
    private func send(
        _ invocation: inout InvocationEncoder, to id: ActorID, target: RemoteCallTarget, calls: inout CallMetrics?
    ) async throws -> ReplyMessage {
        let connection = try await connection(to: id.node)
        var now = NIODeadline.now()
        let deadline = Self.callDeadline ?? now + TimeAmount(settings.callTimeout)
        if invocation.hasDeferredArguments {
            // Large arguments are copied at low priority, off the caller's executor (which may be
            // the event loop), so small calls keep moving meanwhile. The copy counts against the
            // call's deadline.
            try await withTaskExecutorPreference(BulkExecutor.shared) { try invocation.encodeDeferredArguments() }
            now = NIODeadline.now()
        }
        guard deadline > now else {
            throw ClusterError(.timeout, "the deadline for \(target) passed before it was sent", node: id.node)
        }
        guard invocation.attachments.count <= AttachedFrame.maximumAttachments else {
            throw ClusterError(
                .encodingFailed,
                "the arguments of \(target) hold \(invocation.attachments.count) byte arrays above chunkSize; at most \(AttachedFrame.maximumAttachments) fit in one call")
        }
        let (targetID, targetCalls) = try connection.outbox.target(for: target.identifier)
        calls = targetCalls
        let callID = connection.makeCallID()
        let millis = UInt64(max(1, (deadline - now).nanoseconds / 1_000_000))
        let frame = invocation.makeFrame(
            callID: callID, target: targetID, actor: id.path, deadlineMillis: millis, metadata: Self.callContext.metadata)
        let task = withUnsafeCurrentTask { $0?.hashValue ?? 0 }
        return try await connection.call(frame, id: callID, deadline: deadline, orderingKey: task ^ id.path.hashValue)
    }

    /// Runs an inbound call. Called on the connection's event loop.
    ///
    /// The call runs in a task that prefers this system's event loop: an actor on the
    /// ``executor`` runs it with no thread hop, and so does the reply. Calls from one connection
    /// start in the order they arrived.
    func dispatch(_ call: CallMessage, target: InboundTarget, from connection: Connection) {
        var handler = KumoResultHandler(
            system: self, connection: connection, callID: call.callID, target: target, started: metrics.clock())
        connection.callStarted(call.callID, limit: settings.maxInFlightCallsPerConnection)
        if let violation = call.metadataViolation {
            logger.warning(
                "refused a call whose metadata breaks a bound: \(violation)",
                metadata: ["kumo.peer": "\(connection.peer.name) \(connection.peer.node)", "kumo.target": "\(target.readableName)"])
            handler.send(
                error: ClusterError(.protocolError, "refused \(target.readableName): \(violation)", node: node), refused: true)
            return
        }
        guard let actor = localActor(call.actor) else {
            handler.send(
                error: ClusterError(
                    .unknownActor, "no actor \(call.actor) on node \(settings.name) (call to \(target.readableName))",
                    node: node),
                refused: true)
            return
        }
        let admission = target.admit(type(of: actor))
        guard admission.belongs else {
            handler.send(
                error: ClusterError(
                    .unknownTarget,
                    "\(target.readableName) is not a distributed func of \(type(of: actor)) (actor \(call.actor) on node \(settings.name))",
                    node: node),
                refused: true)
            return
        }
        handler.calls = admission.calls
        let deadline = call.deadlineMillis == 0 ? nil : NIODeadline.now() + .milliseconds(Int64(call.deadlineMillis))
        let context = CallContext(deadline: deadline, caller: connection.peer.node, metadata: call.metadata)
        // A call with large arguments runs off the event loop, at low priority, so small calls
        // behind it are not held up by the copy of its arguments, nor by freeing them once it
        // returns (see ``BulkExecutor``).
        let large = call.arguments.bytes.readableBytes > settings.chunkSize || !call.attachments.isEmpty
        // A small call starts here, on the event loop that read it, and runs until it first
        // suspends (a call that does not suspend replies before the next frame is read): no
        // job is queued for it and no thread is woken. It goes on on the event loop. (Dispatch
        // runs in the channel's read handler, outside any task, so the call inherits no task
        // locals and no cancellation.)
        // The context is bound around the task's creation, which copies it into the task:
        // binding it inside the task would cost an async scope (and its executor checks) per call.
        let task: Task<Void, Never> = Self.$callContext.withValue(context) {
            if large {
                // The decoder is made here, not in the task: a task holds its closure until it
                // ends, and a closure that captured `call` would hold its attachments as long, so
                // the callee would not be their only holder.
                let decoder = KumoInvocationDecoder(system: self, call: call, target: target)
                return Task(executorPreference: BulkExecutor.shared) { [handler] in
                    var decoder = decoder
                    await self.run(target, on: actor, decoder: &decoder, handler: handler)
                }
            }
            return Task<Void, Never>.immediate(executorPreference: executor) { [handler] in
                var decoder = KumoInvocationDecoder(system: self, call: call, target: target)
                await self.run(target, on: actor, decoder: &decoder, handler: handler)
            }
        }
        // The caller may cancel the call from now on (a `cancel` frame cancels this task); a call
        // that has replied already is not recorded.
        connection.callRunning(call.callID, task)
    }

    /// Runs an inbound call, and replies with what it threw if it threw.
    private func run(
        _ target: InboundTarget, on actor: any DistributedActor, decoder: inout KumoInvocationDecoder,
        handler: KumoResultHandler
    ) async {
        do {
            try await execute(target, on: actor, decoder: &decoder, handler: handler)
        } catch let error as ExecuteDistributedTargetError {
            handler.send(
                error: ClusterError(
                    .unknownTarget,
                    "node \(settings.name) has no distributed func \(target.readableName) on \(type(of: actor)) (\(error.message))",
                    node: node),
                refused: true)
        } catch {
            handler.send(error: error)
        }
    }

    /// A decoder that can decode actor references and ports for this system: for add-ons that
    /// carry encoded values of their own inside calls.
    public func makeDecoder() -> BinaryDecoder {
        decoderBox.withLock { $0 }
    }

    /// How an error thrown here travels to the caller.
    func errorEnvelope(for error: any Error) -> RemoteErrorEnvelope {
        if let error = error as? ClusterError {
            return RemoteErrorEnvelope(
                code: error.code.rawValue, node: error.node ?? node, errorType: error.errorType ?? "Kumo.ClusterError",
                message: error.message)
        }
        if error is CancellationError {
            // The call was cancelled (by its caller, or its deadline): say so, not "it threw".
            return RemoteErrorEnvelope(
                code: ClusterError.Code.cancelled.rawValue, node: node, errorType: "Kumo.ClusterError",
                message: "the call was cancelled on node \(settings.name)")
        }
        let errorType = String(reflecting: type(of: error))
        var envelope = RemoteErrorEnvelope(
            code: ClusterError.Code.remoteError.rawValue, node: node, errorType: errorType,
            message: String(describing: error))
        if let codable = error as? any Encodable, let name = _mangledTypeName(type(of: error)) {
            if let payload = try? BinaryEncoder().encode(codable) {
                envelope.payloadType = name
                envelope.payload = payload
            }
        }
        return envelope
    }

    /// The error a caller throws for an error reply: the remote error itself when its type is
    /// `Codable` and known here, a ``ClusterError`` otherwise.
    func remoteError(from payload: ByteBuffer, target: RemoteCallTarget, node: NodeID) -> any Error {
        let envelope: RemoteErrorEnvelope
        do {
            envelope = try RemoteErrorEnvelope(body: payload)
        } catch {
            return ClusterError(.protocolError, "malformed error reply to \(target): \(error)", node: node)
        }
        return remoteError(from: envelope)
    }

    /// The error an error envelope stands for (see ``remoteError(from:target:node:)``).
    func remoteError(from envelope: RemoteErrorEnvelope) -> any Error {
        let code = ClusterError.Code(rawValue: envelope.code)
        if code == .remoteError, let name = envelope.payloadType, MangledName.isPlain(name), let payload = envelope.payload,
           let type = _typeByName(name) as? any (Error & Decodable).Type,
           let error = try? makeDecoder().decode(type, from: payload)
        {
            return error
        }
        return ClusterError(
            code, envelope.message, node: envelope.node, errorType: code == .remoteError ? envelope.errorType : nil)
    }
}
