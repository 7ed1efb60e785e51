import Distributed

/// The runtime function that decodes a call's arguments and invokes a distributed target; it is
/// what the standard library's `executeDistributedTarget` ends in, declared here with the same
/// signature (`Builtin.RawPointer` parameters are passed exactly like `UnsafeRawPointer`s).
/// `@concurrent` keeps the calling convention of the runtime's declaration, which has no
/// caller-isolation parameter.
///
/// The entry point is not public API, though its signature has not changed since Swift 5.7. Kumo
/// uses it only with the compilers it was checked against (6.2 up to 7, where `@concurrent`
/// exists); any other compiler takes the standard path, and the remote-call tests exercise
/// whichever path is built.
#if compiler(>=6.2) && compiler(<7)
@_silgen_name("swift_distributed_execute_target")
@concurrent
private func runtimeExecuteDistributedTarget<Decoder: DistributedTargetInvocationDecoder>(
    on actor: AnyObject,
    _ targetName: UnsafePointer<UInt8>, _ targetNameLength: UInt,
    argumentDecoder: inout Decoder,
    argumentTypes: UnsafeRawPointer,
    resultBuffer: UnsafeMutableRawPointer,
    substitutions: UnsafeRawPointer?,
    witnessTables: UnsafeRawPointer?,
    numWitnessTables: UInt
) async throws
#endif

extension ClusterSystem {
    /// Hands the result of type `R` in `result` to `handler`, called with the return type opened
    /// from its existential, whose conformances come with it: the standard
    /// `invokeHandlerOnReturn` casts the metatype, and `onReturn` (a distributed ad-hoc
    /// requirement) finds the conformances again, on every call.
    private static func sendResult<R: Codable>(
        of _: R.Type, in result: UnsafeRawPointer, to handler: KumoResultHandler
    ) async throws {
        try await handler.returnValue(result.assumingMemoryBound(to: R.self).pointee)
    }

    /// Runs an inbound call on a local actor: non-generic targets with their types looked up
    /// once (``TargetSignature``), generic ones through `executeDistributedTarget`.
    func execute(
        _ target: InboundTarget, on actor: any DistributedActor, decoder: inout KumoInvocationDecoder,
        handler: KumoResultHandler
    ) async throws {
        #if compiler(>=6.2) && compiler(<7)
        guard let signature = target.signature, let name = signature.name.baseAddress,
            let argumentTypes = signature.argumentTypes.baseAddress
        else {
            try await executeDistributedTarget(on: actor, target: target.target, invocationDecoder: &decoder, handler: handler)
            return
        }
        let result = signature.allocateResult()
        // The handler copies the result out of the buffer; the value left in it is destroyed
        // here once the target has returned one (a target that threw left the buffer empty).
        var returned = false
        defer {
            if returned { signature.destroyResult(in: result) }
            signature.deallocateResult(result)
        }
        do {
            try await runtimeExecuteDistributedTarget(
                on: actor, name, UInt(signature.name.count), argumentDecoder: &decoder,
                argumentTypes: UnsafeRawPointer(argumentTypes), resultBuffer: result, substitutions: nil,
                witnessTables: nil, numWitnessTables: 0)
            returned = true
            if signature.returnType == Void.self {
                try await handler.onReturnVoid()
            } else if let codable = signature.codableReturnType {
                try await Self.sendResult(of: codable, in: UnsafeRawPointer(result), to: handler)
            } else {
                try await invokeHandlerOnReturn(handler: handler, resultBuffer: UnsafeRawPointer(result), metatype: signature.returnType)
            }
        } catch let error as ExecuteDistributedTargetError {
            // The runtime found no such target: the caller's `dispatch` reports it as
            // `unknownTarget`, as the standard path does.
            throw error
        } catch {
            try await handler.onThrow(error: error)
        }
        #else
        try await executeDistributedTarget(on: actor, target: target.target, invocationDecoder: &decoder, handler: handler)
        #endif
    }
}
