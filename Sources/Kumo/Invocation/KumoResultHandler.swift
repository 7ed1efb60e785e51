import Distributed
import KumoCore
import NIOCore

/// Sends the outcome of an inbound call back to its caller as a reply frame.
public struct KumoResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = any Codable

    let system: ClusterSystem
    let connection: Connection
    let callID: UInt64

    public func onReturn<Success: Codable>(value: Success) async throws {
        if EncodedSizeHint.exceeds(value, system.settings.chunkSize) {
            // A large result is copied at low priority, off the event loop (see ``BulkExecutor``).
            await withTaskExecutorPreference(BulkExecutor.shared) { sendResult(value) }
        } else {
            sendResult(value)
        }
    }

    private func sendResult<Success: Codable>(_ value: Success) {
        var buffer = ByteBufferAllocator().buffer(capacity: 96)
        let start = ReplyMessage.begin(callID: callID, status: .value, in: &buffer)
        do {
            try BinaryEncoder().encode(value, into: &buffer)
        } catch {
            send(error: ClusterError(.encodingFailed, "cannot encode the result \(Success.self): \(describe(error))", node: system.node))
            return
        }
        buffer.endFrame(startedAt: start)
        send(buffer)
    }

    public func onReturnVoid() async throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 16)
        let start = ReplyMessage.begin(callID: callID, status: .void, in: &buffer)
        buffer.endFrame(startedAt: start)
        send(buffer)
    }

    public func onThrow<Err: Error>(error: Err) async throws {
        send(error: error)
    }

    func send(error: any Error) {
        var buffer = ByteBufferAllocator().buffer(capacity: 128)
        let start = ReplyMessage.begin(callID: callID, status: .error, in: &buffer)
        system.errorEnvelope(for: error).write(to: &buffer)
        buffer.endFrame(startedAt: start)
        send(buffer)
    }

    private func send(_ frame: ByteBuffer) {
        // Replies need no order among themselves: a unique key keeps a large reply from holding
        // back the small ones behind it.
        try? connection.outbox.enqueue(frame, key: Int(truncatingIfNeeded: callID) | Int.min, callOrReply: true)
        connection.callFinished()
    }
}
