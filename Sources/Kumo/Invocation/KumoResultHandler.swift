import Distributed
import KumoCore
import NIOCore

/// Sends the outcome of an inbound call back to its caller as a reply frame, and counts it in
/// the callee's metrics (`rpc.server.duration`, `kumo.rpc.server.calls`).
public struct KumoResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = any Codable

    let system: ClusterSystem
    let connection: Connection
    let callID: UInt64
    let target: InboundTarget
    /// When the call arrived (``ClusterMetrics/clock()``; 0 when nothing is recorded).
    let started: UInt64
    /// The callee's metrics for the target, when a call to it ran before (else found on reply).
    var calls: CallMetrics?

    public func onReturn<Success: Codable>(value: Success) async throws {
        // The distributed runtime's ad-hoc requirement: this function finds `Success`'s
        // conformances itself, on every call. Kumo's own path calls `returnValue` directly.
        try await returnValue(value)
    }

    /// Sends `value` as the call's result.
    func returnValue<Success: Codable>(_ value: Success) async throws {
        let threshold = system.settings.chunkSize
        if (EncodedSizeHint.of(value, attachingAbove: threshold) ?? 0) > threshold {
            // A large result is copied at low priority, off the event loop (see ``BulkExecutor``).
            await withTaskExecutorPreference(BulkExecutor.shared) { sendResult(value) }
        } else {
            sendResult(value)
        }
    }

    /// Encodes the result into a reply frame; byte arrays above `chunkSize` in it are not copied
    /// but sent as attachments.
    private func sendResult<Success: Codable>(_ value: Success) {
        var buffer = ByteBufferAllocator().buffer(capacity: 96)
        buffer.moveWriterIndex(forwardBy: Self.headroom)
        buffer.moveReaderIndex(forwardBy: Self.headroom)
        let start = ReplyMessage.begin(callID: callID, status: .value, in: &buffer)
        var attachments: [[UInt8]] = []
        do {
            var encoder = BinaryEncoder()
            encoder.attachmentThreshold = system.settings.chunkSize
            try encoder.encode(value, into: &buffer, attachments: &attachments)
        } catch {
            send(error: ClusterError(.encodingFailed, "cannot encode the result \(Success.self): \(describe(error))", node: system.node))
            return
        }
        guard attachments.count <= AttachedFrame.maximumAttachments else {
            send(error: ClusterError(
                .encodingFailed,
                "the result \(Success.self) holds \(attachments.count) byte arrays above chunkSize; at most \(AttachedFrame.maximumAttachments) fit in one reply",
                node: system.node))
            return
        }
        buffer.endFrame(startedAt: start)
        record(nil, ran: true)
        send(OutboundFrame.wrapping(buffer, attachments: attachments))
    }

    /// Room left before a reply for the header of an attached frame.
    private static let headroom = 32

    public func onReturnVoid() async throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = ReplyMessage.begin(callID: callID, status: .void, in: &buffer)
        buffer.endFrame(startedAt: start)
        record(nil, ran: true)
        send(buffer)
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        // The runtime throws this when it finds no distributed func of the target's name: the
        // call did not run (and the name may be one a peer made up).
        send(error: error, refused: error is ExecuteDistributedTargetError)
    }

    /// Replies with `error`; `refused` tells that the call did not run (unknown actor or target,
    /// or metadata out of bounds), so its target's name is not known to be real.
    func send(error: any Error, refused: Bool = false) {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        let start = ReplyMessage.begin(callID: callID, status: .error, in: &buffer)
        let envelope = system.errorEnvelope(for: error)
        envelope.write(to: &buffer)
        buffer.endFrame(startedAt: start)
        record(ClusterError.Code(rawValue: envelope.code), ran: !refused)
        send(buffer)
    }

    /// Counts the call in the callee's metrics: returned (`code` nil) or failed with `code`.
    @inline(__always)
    private func record(_ code: ClusterError.Code?, ran: Bool) {
        guard started != 0 else { return }
        let calls = ran ? (self.calls ?? target.ranCalls(system.metrics)) : system.metrics.serverCalls(refused: target)
        if let code {
            calls.failed(code, since: started)
        } else {
            calls.succeeded(since: started)
        }
    }

    private func send(_ frame: ByteBuffer) {
        send(OutboundFrame(frame))
    }

    private func send(_ frame: OutboundFrame) {
        // Replies need no order among themselves: a unique key keeps a large reply from holding
        // back the small ones behind it.
        try? connection.outbox.enqueue(frame, key: Int(truncatingIfNeeded: callID) | Int.min, callOrReply: true)
        connection.callFinished(callID)
    }
}
