import Distributed
@testable import Kumo
import KumoCore
import KumoTestKit
import NIOCore
import Testing

struct SentShape: Codable, Sendable { var name: String; var age: String }
struct ExpectedShape: Codable, Sendable { var name: String; var age: Int }
struct Blob: Codable, Sendable, Equatable { var name: String; var bytes: [UInt8]; var small: [UInt8] }

@Suite("Invocation encoding and decoding", .timeLimit(.minutes(1)))
struct InvocationTests {
    /// Builds the call frame a caller would send, and parses it as the receiver does.
    func roundTrip(_ encoder: inout KumoInvocationEncoder, metadata: CallMetadata = CallMetadata()) throws -> CallMessage {
        let frame = encoder.makeFrame(callID: 7, target: 3, actor: .name("probe"), deadlineMillis: 1500, metadata: metadata)
        var parser = FrameParser(maxFrameSize: 1 << 26)
        parser.append(frame.flattened())
        var parsed = try #require(try parser.next())
        #expect(parser.bufferedBytes == 0)
        if parsed.kind == .attached { parsed = try AttachedFrame.unpack(body: parsed.body) }
        #expect(parsed.kind == .call)
        var call = try CallMessage(body: parsed.body)
        call.attachments = parsed.attachments
        return call
    }

    @Test("a call frame carries id, target, actor, deadline, substitutions and arguments")
    func frameLayout() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = nodes[0].makeInvocationEncoder()
            try encoder.recordGenericSubstitution(Int.self)
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "a", value: 42))
            try encoder.recordArgument(RemoteCallArgument(label: "b", name: "b", value: "two"))
            try encoder.doneRecording()
            let call = try roundTrip(&encoder)
            #expect(call.callID == 7)
            #expect(call.target == 3)
            #expect(call.actor == .name("probe"))
            #expect(call.deadlineMillis == 1500)
            #expect(call.metadata.isEmpty && call.metadataViolation == nil)
            #expect(call.arguments.count == 2)
            var decoder = KumoInvocationDecoder(system: nodes[0], call: call, target: InboundTarget(name: "Probe.test"))
            let types = try decoder.decodeGenericSubstitutions()
            #expect(types.count == 1 && types[0] == Int.self)
            #expect(try decoder.decodeNextArgument() as Int == 42)
            #expect(try decoder.decodeNextArgument() as String == "two")
            #expect(throws: ClusterError.self) { let _: Int = try decoder.decodeNextArgument() }
        }
    }

    @Test("call metadata travels in the call frame, in order; unknown keys are kept for the callee to ignore")
    func metadataLayout() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = nodes[0].makeInvocationEncoder()
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "a", value: 42))
            try encoder.doneRecording()
            var metadata = CallMetadata()
            try metadata.set("traceparent", to: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
            try metadata.set("kumo.job.id", to: [1, 2, 3])
            try metadata.set("x-unknown", to: [])
            let call = try roundTrip(&encoder, metadata: metadata)
            #expect(call.metadata == metadata)
            #expect(call.metadata.string(forKey: "traceparent")?.hasPrefix("00-0af7") == true)
            #expect(call.metadata["kumo.job.id"] == [1, 2, 3])
            #expect(call.metadataViolation == nil)
            var decoder = KumoInvocationDecoder(system: nodes[0], call: call, target: InboundTarget(name: "Probe.test"))
            #expect(try decoder.decodeNextArgument() as Int == 42)
        }
    }

    @Test("metadata that breaks a bound is read whole and reported, so only its call is refused")
    func metadataBounds() throws {
        var metadata = CallMetadata()
        #expect(throws: WireError.self) { try metadata.set("", to: [1]) }
        #expect(throws: WireError.self) { try metadata.set(String(repeating: "k", count: 129), to: [1]) }
        #expect(throws: WireError.self) { try metadata.set("big", to: [UInt8](repeating: 0, count: 4097)) }
        for index in 0..<CallMetadata.maximumEntries { try metadata.set("k\(index)", to: [UInt8(index)]) }
        #expect(throws: WireError.self) { try metadata.set("one too many", to: [1]) }
        try metadata.set("k0", to: [9])  // replacing is fine
        #expect(metadata["k0"] == [9] && metadata.entries.count == CallMetadata.maximumEntries)

        // Written by hand: 40 entries, then a key twice, then a value too long.
        func call(entries: [(String, Int)]) throws -> CallMessage {
            var body = ByteBuffer()
            body.writeWireVarint(UInt64(5))  // call id
            body.writeInteger(UInt8(0))
            body.writeWireVarint(UInt64(1))
            body.writeWireActorPath(.number(1))
            body.writeWireVarint(UInt64(0))
            body.writeWireVarint(entries.count)
            for (key, length) in entries {
                body.writeWireString(key)
                body.writeWireVarint(length)
                body.writeBytes([UInt8](repeating: 7, count: length))
            }
            body.writeWireVarint(0)  // substitutions
            body.writeWireVarint(0)  // arguments
            return try CallMessage(body: body)
        }
        let many = try call(entries: (0..<40).map { ("k\($0)", 1) })
        #expect(many.callID == 5 && many.metadata.isEmpty)
        #expect(many.metadataViolation?.contains("40 metadata entries") == true)
        #expect(try call(entries: [("a", 1), ("a", 1)]).metadataViolation?.contains("twice") == true)
        #expect(try call(entries: [("a", 5000)]).metadataViolation?.contains("5000 bytes") == true)
        #expect(try call(entries: [("a", 10)]).metadataViolation == nil)
    }

    @Test("the header is written in front of the arguments without copying them")
    func headroom() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = nodes[0].makeInvocationEncoder()
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "bytes", value: [UInt8](repeating: 1, count: 100_000)))
            let before = encoder.buffer.readerIndex
            let frame = encoder.makeFrame(callID: 1, target: 1, actor: .number(9), deadlineMillis: 0, metadata: CallMetadata())
            #expect(frame.attachments.isEmpty)
            #expect(frame.head.readerIndex < before)
            #expect(frame.head.readerIndex > 0)
        }
    }

    @Test("a large argument, and every one after it, is encoded later, on the bulk executor, in order")
    func deferredArguments() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = KumoInvocationEncoder(bulkThreshold: 1000)
            let large = (0..<700).map { Double($0) * 1.5 }
            let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "a", value: 1))
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "b", value: large))
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "c", value: bytes))
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "d", value: "after"))
            #expect(encoder.hasDeferredArguments)
            try await withTaskExecutorPreference(BulkExecutor.shared) { try encoder.encodeDeferredArguments() }
            #expect(!encoder.hasDeferredArguments)
            let call = try roundTrip(&encoder)
            #expect(call.arguments.count == 4)
            #expect(call.attachments == [bytes])
            var decoder = KumoInvocationDecoder(system: nodes[0], call: call, target: InboundTarget(name: "Probe.test"))
            #expect(try decoder.decodeNextArgument() as Int == 1)
            #expect(try decoder.decodeNextArgument() as [Double] == large)
            #expect(try decoder.decodeNextArgument() as [UInt8] == bytes)
            #expect(try decoder.decodeNextArgument() as String == "after")
        }
    }

    @Test("large byte arrays, at any depth of any argument, become attachments and are not deferred")
    func attachedArguments() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = KumoInvocationEncoder(bulkThreshold: 1000)
            let first = [UInt8](repeating: 3, count: 4000)
            let nested = Blob(name: "n", bytes: [UInt8](repeating: 4, count: 2000), small: [1, 2, 3])
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "a", value: first))
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "b", value: nested))
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "c", value: [UInt8](repeating: 5, count: 1000)))
            #expect(!encoder.hasDeferredArguments)
            #expect(encoder.attachments.count == 2)
            // The arguments' encoding holds the small arrays and two references, not the large ones.
            #expect(encoder.buffer.readableBytes < 1100)
            var call = try roundTrip(&encoder)
            #expect(call.attachments.map(\.count) == [4000, 2000])
            let storage = call.attachments[0].withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
            var decoder = KumoInvocationDecoder(system: nodes[0], call: call, target: InboundTarget(name: "Probe.test"))
            call.attachments = []
            // The callee gets the received array itself, as its only owner: changing it copies nothing.
            var taken: [UInt8] = try decoder.decodeNextArgument()
            taken[0] = 99
            #expect(taken.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == storage)
            #expect(taken.dropFirst() == first.dropFirst())
            #expect(try decoder.decodeNextArgument() as Blob == nested)
            #expect(try decoder.decodeNextArgument() as [UInt8] == [UInt8](repeating: 5, count: 1000))
        }
    }

    @Test("a large result is encoded on the bulk executor")
    func largeResultOnBulkThreads() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            // A small argument, so only the result's encoding can use the bulk threads (other
            // tests running meanwhile may add to the count, never take from it).
            let before = BulkExecutor.shared.jobsRun.load(ordering: .relaxed)
            #expect(try await remote.text(400_000).count == 400_000)
            #expect(BulkExecutor.shared.jobsRun.load(ordering: .relaxed) > before)
        }
    }

    @Test("size hints: arrays of bytes and numbers and strings report their size; other values report none")
    func sizeHints() {
        #expect(EncodedSizeHint.of([UInt8](repeating: 0, count: 300)) == 300)
        #expect(EncodedSizeHint.of([Double](repeating: 0, count: 10)) == 80)
        #expect(EncodedSizeHint.of([Int32](repeating: 0, count: 10)) == 40)
        #expect(EncodedSizeHint.of([UInt16](repeating: 0, count: 10)) == 20)
        #expect(EncodedSizeHint.of([Bool](repeating: true, count: 10)) == 10)
        #expect(EncodedSizeHint.of("héllo") == 6)
        #expect(EncodedSizeHint.of(42) == nil)
        #expect(EncodedSizeHint.of(["a", "b"]) == nil)
        #expect(EncodedSizeHint.of(Optional([UInt8](repeating: 0, count: 3))) == nil)
        #expect(EncodedSizeHint.of([UInt8](repeating: 0, count: 300), attachingAbove: 299) == 10)
        #expect(EncodedSizeHint.of([UInt8](repeating: 0, count: 300), attachingAbove: 300) == 300)
        #expect(EncodedSizeHint.of([Double](repeating: 0, count: 100), attachingAbove: 10) == 800)
        #expect(EncodedSizeHint.exceeds([UInt8](repeating: 0, count: 11), 10))
        #expect(!EncodedSizeHint.exceeds([UInt8](repeating: 0, count: 10), 10))
    }

    @Test("an argument that does not decode fails with the type and the field in the message")
    func argumentMismatch() async throws {
        try await withLocalCluster(nodes: 1) { nodes in
            var encoder = nodes[0].makeInvocationEncoder()
            try encoder.recordArgument(RemoteCallArgument(label: nil, name: "p", value: SentShape(name: "x", age: "old")))
            let call = try roundTrip(&encoder)
            var decoder = KumoInvocationDecoder(system: nodes[0], call: call, target: InboundTarget(name: "Probe.person(_:)"))
            do {
                let _: ExpectedShape = try decoder.decodeNextArgument()
                Issue.record("expected a decoding error")
            } catch let error as ClusterError {
                #expect(error.code == .argumentDecodingFailed)
                #expect(error.message.contains("ExpectedShape"))
                #expect(error.message.contains("age"))
                #expect(error.message.contains("Probe.person"))
            }
        }
    }

    @Test("target names from the network that are not distributed funcs give no signature and harm nothing")
    func garbageTargetNames() {
        for name in ["", "x", "$s", "Greeter.greet(_:)", String(repeating: "\u{0}", count: 8)] {
            #expect(InboundTarget(name: name).signature == nil, "\(name.debugDescription)")
        }
        // Random would-be mangled names must not crash the runtime's lookups (a crash would end
        // the test run); whatever they yield, the call path still checks the actor's type.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let length = Int.random(in: 1...60, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0x21...0x7E, using: &generator) }
            _ = InboundTarget(name: "$s" + String(decoding: bytes, as: UTF8.self)).signature
        }
    }
}
