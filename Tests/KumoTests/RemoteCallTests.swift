import Distributed
import Foundation
import Kumo
import KumoCore
import KumoExamples
import KumoTestKit
import Synchronization
import Testing

/// An actor for tests that need behaviour the examples do not have.
distributed actor Probe {
    typealias ActorSystem = ClusterSystem

    distributed func person(_ person: Person) -> Person { person }
    distributed func shapes(_ shapes: [Shape]) -> [Shape] { shapes }
    distributed func tree(_ tree: Tree) -> Tree { tree }
    distributed func optional(_ value: Int?) -> Int? { value }
    distributed func nested(_ value: [String: [Wrapper<Int?>]]) -> [String: [Wrapper<Int?>]] { value }
    distributed func many(_ a: Int8, _ b: UInt64, _ c: Double, _ d: Bool, _ e: String, _ f: [UInt8]) -> String {
        "\(a) \(b) \(c) \(d) \(e) \(f.count)"
    }
    distributed func throwOpaque() throws { throw OpaqueFailure() }
    distributed func nothing() {}
    distributed func callOther(_ other: Greeter) async throws -> String { try await other.greet("nested") }
    distributed func reference() -> Probe { self }
    distributed func tracked() -> Tracked { Tracked() }
    distributed func mixed(_ small: Int, _ large: [UInt8], _ numbers: [Double], _ tag: String) -> String {
        "\(small) \(large.count) \(large.reduce(0) { $0 &+ Int($1) }) \(numbers.count) \(numbers.last ?? 0) \(tag)"
    }
    distributed func text(_ length: Int) -> String { String(repeating: "ü", count: length) }
    distributed func blobs(_ blobs: [Blob], _ extra: [UInt8]) -> [Blob] { blobs + [Blob(name: "extra", bytes: extra, small: [])] }

    private var kept: [[UInt8]] = []
    /// Keeps `bytes` (or lets go of all kept when `keep` is false); returns where its storage is.
    distributed func hold(_ bytes: [UInt8], keep: Bool) -> UInt {
        let address = bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        if keep { kept.append(bytes) } else { kept = [] }
        return address
    }
    /// Changes the first byte of every kept array in place; returns the kept arrays' sums.
    distributed func touchKept() -> [Int] {
        for index in kept.indices { kept[index][0] &+= 1 }
        return kept.map { $0.reduce(0) { $0 + Int($1) } }
    }
}

/// A result that counts its instances made by `init()` (the callee's), not the decoded copies.
final class Tracked: Codable, Sendable {
    static let made = Atomic<Int>(0)
    private let counted: Bool

    init() {
        counted = true
        Self.made.add(1, ordering: .relaxed)
    }

    init(from decoder: any Decoder) throws {
        counted = false
        _ = try decoder.singleValueContainer().decode(Int.self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(1)
    }

    deinit {
        if counted { Self.made.subtract(1, ordering: .relaxed) }
    }
}

/// A generous call deadline for tests that move tens of megabytes: they test what arrives, not
/// how fast, and a loaded test machine (or a debug build) may take seconds over it.
@Sendable func slowMachine(_ index: Int, _ settings: inout ClusterSettings) {
    settings.callTimeout = .seconds(60)
}

@Suite("Remote calls between nodes in one process", .timeLimit(.minutes(2)))
struct RemoteCallTests {
    @Test("a distributed func returns its value across nodes")
    func simpleCall() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            let reply = try await remote.greet("Ada")
            #expect(reply.hasPrefix("Hello, Ada!"))
            #expect(try await remote.greetings() == 1)
        }
    }

    @Test("arguments and results of many shapes round-trip")
    func argumentShapes() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            let person = Person(name: "Grace", age: 85, email: nil, tags: ["navy", "cobol"])
            #expect(try await remote.person(person) == person)
            let shapes: [Shape] = [.circle(radius: 1.5), .rectangle(width: 2, height: 3), .polygon([1, 2, 3], closed: true), .empty]
            #expect(try await remote.shapes(shapes) == shapes)
            let tree = Tree.node(.leaf(1), .node(.leaf(2), .leaf(3)))
            #expect(try await remote.tree(tree) == tree)
            #expect(try await remote.optional(nil) == nil)
            #expect(try await remote.optional(-7) == -7)
            let nested: [String: [Wrapper<Int?>]] = ["a": [Wrapper(value: 1, note: "x"), Wrapper(value: nil, note: nil)], "b": []]
            #expect(try await remote.nested(nested) == nested)
            #expect(try await remote.many(-8, .max, 2.5, true, "ünïcødé ☁️", [1, 2, 3]) == "-8 18446744073709551615 2.5 true ünïcødé ☁️ 3")
            try await remote.nothing()
        }
    }

    @Test("generic distributed funcs carry their substitutions")
    func genericCall() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
            #expect(try await remote.echo(42) == 42)
            #expect(try await remote.echo("text") == "text")
            let value: [String: [Int?]] = ["x": [1, nil, 3]]
            #expect(try await remote.echo(value) == value)
            let shape = Shape.polygon([0.5], closed: false)
            #expect(try await remote.echo(shape) == shape)
        }
    }

    @Test("a large array travels in chunks and arrives whole")
    func largeArray() async throws {
        try await withLocalCluster(nodes: 2, configure: slowMachine) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
            // Past 16 MiB, where NIO would copy a slice: the chunks are sent as views instead,
            // and every byte must still arrive in its place, both ways.
            let bytes = (0..<(20 << 20) + 12_345).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 16) }
            #expect(try await remote.count(bytes) == bytes.count)
            let echoed: [UInt8] = try await remote.echo(bytes)
            #expect(echoed == bytes)
        }
    }

    @Test("large received arrays are reused once their holder let go, never while it holds them")
    func receivedArraysReused() async throws {
        try await withLocalCluster(nodes: 2, configure: slowMachine) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            let size = ByteArrayCache.minimumCapacity + 100
            func bytes(_ value: UInt8) -> [UInt8] { [UInt8](repeating: value, count: size) }
            // Kept by the callee: the next ones must land elsewhere and leave it intact.
            let first = try await remote.hold(bytes(1), keep: true)
            let second = try await remote.hold(bytes(2), keep: true)
            #expect(first != second)
            #expect(try await remote.touchKept() == [size + 1, 2 * size + 1])
            // Changing them in place gave the callee copies, so only the node holds the
            // originals now, and later arrays are received into their memory.
            let third = try await remote.hold(bytes(3), keep: false)
            var reused = false
            for value in UInt8(4)..<10 {
                let address = try await remote.hold(bytes(value), keep: false)
                if address == third || address == first || address == second { reused = true }
            }
            #expect(reused, "no large array was received into the memory of an earlier one")
            #expect(try await remote.touchKept() == [])
        }
    }

    @Test("many large byte arrays inside arguments and results travel as attachments and arrive in place")
    func attachedValues() async throws {
        try await withLocalCluster(nodes: 2, configure: slowMachine) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            let blobs = (0..<4).map { (index: Int) -> Blob in
                let count = (index + 1) * 300_000
                let bytes = (0..<count).map { (offset: Int) -> UInt8 in UInt8(truncatingIfNeeded: offset &* (index + 3)) }
                return Blob(name: "b\(index)", bytes: bytes, small: [UInt8](repeating: UInt8(index), count: 10))
            }
            let extra = (0..<1_000_003).map { UInt8(truncatingIfNeeded: $0 >> 3) }
            let back = try await remote.blobs(blobs, extra)
            #expect(back == blobs + [Blob(name: "extra", bytes: extra, small: [])])
            // Twice at once on one connection: the streams interleave and each arrives whole.
            async let first = remote.blobs(blobs, [])
            async let second = remote.blobs(Array(blobs.reversed()), extra)
            #expect(try await first.count == 5)
            #expect(try await second.map(\.name) == ["b3", "b2", "b1", "b0", "extra"])
        }
    }

    @Test("large arguments of several kinds, between small ones, and large results arrive whole and in place")
    func largeMixedArguments() async throws {
        try await withLocalCluster(nodes: 2, configure: slowMachine) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            // Called from the loop executor too: the large encodes must leave it and come back.
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            let large = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let numbers = (0..<100_000).map(Double.init)
            let expected = "7 \(large.count) \(large.reduce(0) { $0 &+ Int($1) }) 100000 99999.0 end"
            #expect(try await remote.mixed(7, large, numbers, "end") == expected)
            let onLoop = Task(executorPreference: nodes[1].executor) { try await remote.mixed(7, large, numbers, "end") }
            #expect(try await onLoop.value == expected)
            #expect(try await remote.text(400_000) == String(repeating: "ü", count: 400_000))
        }
    }

    @Test("socket buffers: a bounded size and the kernel's autotuning both carry large calls; a nonsense size is refused")
    func socketBuffers() async throws {
        for size in [64 << 10, nil] as [Int?] {
            try await withLocalCluster(nodes: 2, configure: { index, settings in slowMachine(index, &settings); settings.socketBufferSize = size }) { nodes in
                let recorder = Recorder(actorSystem: nodes[0])
                let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
                let bytes = [UInt8](repeating: 7, count: 3 << 20)
                #expect(try await remote.count(bytes) == bytes.count)
            }
        }
        var settings = ClusterSettings(name: "bad", secret: "s")
        settings.socketBufferSize = 100
        await #expect { _ = try await ClusterSystem(settings: settings) } throws: { error in
            (error as? ClusterError)?.code == .invalidConfiguration
        }
    }

    @Test("with busy polling on, calls work; a window over 10 ms is refused")
    func busyPolling() async throws {
        try await withLocalCluster(nodes: 2, configure: { _, settings in settings.busyPollWindow = .microseconds(200) }) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            for index in 1...50 { #expect(try await remote.greet("n") == "Hello, n! (from node0, greeting #\(index))") }
        }
        var settings = ClusterSettings(name: "bad", secret: "s")
        settings.busyPollWindow = .milliseconds(11)
        await #expect { _ = try await ClusterSystem(settings: settings) } throws: { error in
            (error as? ClusterError)?.code == .invalidConfiguration
        }
    }

    @Test("the callee's result values are released after they are sent")
    func resultsAreReleased() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            for _ in 0..<50 { _ = try await remote.tracked() }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(2)
            while Tracked.made.load(ordering: .relaxed) > 0 && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(Tracked.made.load(ordering: .relaxed) == 0)
        }
    }

    @Test("small calls keep flowing while a large argument is in transit")
    func noHeadOfLineBlocking() async throws {
        try await withLocalCluster(nodes: 2, configure: slowMachine) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            let greeter = Greeter(actorSystem: nodes[0])
            let remoteRecorder = try Recorder.resolve(id: recorder.id, using: nodes[1])
            let remoteGreeter = try Greeter.resolve(id: greeter.id, using: nodes[1])
            let big = [UInt8](repeating: 9, count: 48 << 20)
            async let counted = remoteRecorder.count(big)
            var smallCalls = 0
            let clock = ContinuousClock()
            let start = clock.now
            // Small calls complete while the big one is still in flight (it takes many chunks).
            while smallCalls < 20 && clock.now - start < .seconds(20) {
                _ = try await remoteGreeter.greetings()
                smallCalls += 1
            }
            #expect(try await counted == big.count)
            #expect(smallCalls == 20)
        }
    }

    @Test("a Codable error thrown remotely is re-thrown as itself")
    func codableError() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            await #expect(throws: GreeterError(reason: "boom", node: "node0")) {
                _ = try await remote.fail("boom")
            }
        }
    }

    @Test("an error that is not Codable arrives with its type name, message and node")
    func opaqueError() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            do {
                try await remote.throwOpaque()
                Issue.record("expected an error")
            } catch let error as ClusterError {
                #expect(error.code == .remoteError)
                #expect(error.errorType?.hasSuffix("OpaqueFailure") == true)
                #expect(error.message == "opaque failure")
                #expect(error.node == nodes[0].node)
            }
        }
    }

    @Test("a call past its deadline fails with a timeout, per call and per system")
    func deadlines() async throws {
        try await withLocalCluster(nodes: 2, configure: { index, settings in
            if index == 1 { settings.callTimeout = .milliseconds(300) }
        }) { nodes in
            let greeter = Greeter(actorSystem: nodes[0])
            let remote = try Greeter.resolve(id: greeter.id, using: nodes[1])
            let clock = ContinuousClock()
            // The remote call sleeps 5 s; failing well before that proves the deadline fired
            // (the bound is loose for slow, loaded machines).
            var start = clock.now
            await #expect(throws: ClusterError(.timeout, "")) {
                _ = try await nodes[1].withCallTimeout(.milliseconds(100)) {
                    try await remote.sleep(milliseconds: 5000)
                }
            }
            #expect(clock.now - start < .seconds(4))
            start = clock.now
            await #expect(throws: ClusterError(.timeout, "")) {
                _ = try await remote.sleep(milliseconds: 5000)  // the system's 300 ms
            }
            #expect(clock.now - start < .seconds(4))
            #expect(try await nodes[1].withCallTimeout(.seconds(10)) { try await remote.sleep(milliseconds: 10) } == 10)
        }
    }

    @Test("calls from one caller to one actor run in the order sent")
    func callOrder() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
            for value in 0..<500 { try await remote.record(value) }
            #expect(try await remote.recorded() == Array(0..<500))
        }
    }

    @Test(
        "bursts of concurrent calls made on the event loop each get their own reply, whatever the call flush threshold",
        arguments: [1, 3, 8, 4096])
    func concurrentBursts(threshold: Int) async throws {
        try await withLocalCluster(nodes: 2, configure: { _, settings in settings.callFlushThreshold = threshold }) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let remote = try Probe.resolve(id: probe.id, using: nodes[1])
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for caller in 0..<100 {
                    // Callers on the loop make their calls on the loop, which is where the threshold applies.
                    group.addTask(executorPreference: nodes[1].executor) {
                        var wrong = 0
                        for round in 0..<20 where try await remote.optional(caller * 1000 + round) != caller * 1000 + round {
                            wrong += 1
                        }
                        return wrong
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
        }
        var settings = ClusterSettings(name: "bad", secret: "s")
        settings.callFlushThreshold = 0
        await #expect { _ = try await ClusterSystem(settings: settings) } throws: { error in
            (error as? ClusterError)?.code == .invalidConfiguration
        }
    }

    @Test(
        "one-way messages on a typed channel arrive in order across nodes, with and without stream ticks",
        arguments: [Duration.zero, .microseconds(50), .milliseconds(2)])
    func typedChannel(batchingDelay: Duration) async throws {
        try await withLocalCluster(nodes: 2, configure: { _, settings in settings.messageBatchingDelay = batchingDelay }) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
            let (send, receive) = try nodes[1].makeChannel(of: Int.self, capacity: 1000)
            // More messages than the port holds: the sender is held back until the consumer reads.
            let streaming = Task { try await nodes[1].withCallTimeout(.seconds(60)) { try await remote.stream(count: 20_000, to: send) } }
            var received: [Int] = []
            for await value in receive {
                received.append(value)
                if received.count == 20_000 { break }
            }
            #expect(received == Array(0..<20_000))
            try await streaming.value
        }
    }

    @Test("large and small one-way messages from one sender keep their order")
    func mixedSizesKeepOrder() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let (send, receive) = try nodes[0].makeChannel(of: [UInt8].self)
            // Send from node 1 through a port decoded there.
            var decoder = BinaryDecoder()
            decoder.userInfo[.actorSystemKey] = nodes[1]
            let port = try decoder.decode(SendPort<[UInt8]>.self, from: BinaryEncoder().encode(send))
            let sizes = [700_000, 3, 1_200_000, 5, 400_000, 7, 9]
            for (index, size) in sizes.enumerated() {
                try await port.send([UInt8](repeating: UInt8(index), count: size))
            }
            var received: [Int] = []
            for await message in receive {
                received.append(message.count)
                #expect(message.first == UInt8(received.count - 1))
                if received.count == sizes.count { break }
            }
            #expect(received == sizes)
        }
    }

    @Test("messages to two ports, interleaved and in runs, arrive whole and in order at each")
    func interleavedPorts() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let (sendA, receiveA) = try nodes[0].makeChannel(of: Int.self)
            let (sendB, receiveB) = try nodes[0].makeChannel(of: Int.self)
            var decoder = BinaryDecoder()
            decoder.userInfo[.actorSystemKey] = nodes[1]
            let portA = try decoder.decode(SendPort<Int>.self, from: BinaryEncoder().encode(sendA))
            let portB = try decoder.decode(SendPort<Int>.self, from: BinaryEncoder().encode(sendB))
            // Alternating, then runs of several to one port: the receiving node hands a port
            // the messages read for it together, and must neither lose nor reorder any.
            var sentA: [Int] = []
            var sentB: [Int] = []
            for index in 0..<6_000 {
                let toA = index < 2_000 ? index % 2 == 0 : (index / 7) % 2 == 0
                if toA {
                    try await portA.send(index)
                    sentA.append(index)
                } else {
                    try await portB.send(index)
                    sentB.append(index)
                }
            }
            func take(_ port: ReceivePort<Int>, _ count: Int) async -> [Int] {
                var taken: [Int] = []
                for await value in port {
                    taken.append(value)
                    if taken.count == count { break }
                }
                return taken
            }
            #expect(await take(receiveA, sentA.count) == sentA)
            #expect(await take(receiveB, sentB.count) == sentB)
        }
    }

    @Test("a call to an unknown actor fails with an error naming it")
    func unknownActor() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let ghost = try Greeter.resolve(id: .named("ghost", on: nodes[0].node), using: nodes[1])
            do {
                _ = try await ghost.greet("anyone?")
                Issue.record("expected an error")
            } catch let error as ClusterError {
                #expect(error.code == .unknownActor)
                #expect(error.message.contains("ghost"))
            }
        }
    }

    @Test("a call to a target the actor does not have fails with an error naming it")
    func unknownTarget() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let recorder = Recorder(actorSystem: nodes[0])
            // Address the recorder as if it were a greeter.
            let wrong = try Greeter.resolve(id: recorder.id, using: nodes[1])
            do {
                _ = try await wrong.greet("x")
                Issue.record("expected an error")
            } catch let error as ClusterError {
                #expect(error.code == .unknownTarget)
                #expect(error.message.contains("greet"))
            }
            // The node is unharmed.
            let remote = try Recorder.resolve(id: recorder.id, using: nodes[1])
            #expect(try await remote.count([1, 2]) == 2)
        }
    }

    @Test("actor references pass through calls and nested calls work")
    func nestedCalls() async throws {
        try await withLocalCluster(nodes: 3) { nodes in
            let probe = Probe(actorSystem: nodes[0])
            let greeter = Greeter(actorSystem: nodes[2])
            let remoteProbe = try Probe.resolve(id: probe.id, using: nodes[1])
            let remoteGreeter = try Greeter.resolve(id: greeter.id, using: nodes[1])
            #expect(try await remoteProbe.callOther(remoteGreeter).hasPrefix("Hello, nested!"))
            let again = try await remoteProbe.reference()
            #expect(again.id == probe.id)
        }
    }

    @Test("well-known names address actors without a lookup")
    func wellKnownNames() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let greeter = try nodes[0].withActorName("greeter") { Greeter(actorSystem: nodes[0]) }
            #expect(greeter.id.path.name == "greeter")
            let peer = try await nodes[1].connect(to: nodes[0].node.address)
            #expect(peer == nodes[0].node)
            let remote = try Greeter.resolve(id: .named("greeter", on: peer), using: nodes[1])
            #expect(try await remote.greet("by name").contains("by name"))
            // A second actor asking for the same name is refused, while the first lives.
            #expect(throws: ClusterError(.nameTaken, "")) {
                _ = try nodes[0].withActorName("greeter") { Greeter(actorSystem: nodes[0]) }
            }
            #expect(throws: ClusterError(.nameTaken, "")) {
                _ = try nodes[0].withActorName("kumo.cluster") { Greeter(actorSystem: nodes[0]) }
            }
            #expect(try await remote.greet("still here").contains("still here"))
        }
    }

    @Test("dialling a node by another name than it announces still connects")
    func dialledAddressDiffers() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let port = nodes[0].node.address.port
            let peer = try await nodes[1].withCallTimeout(.seconds(5)) {
                try await nodes[1].connect(to: NodeAddress(host: "localhost", port: port))
            }
            #expect(peer == nodes[0].node)
            // Both names now lead to the one connection.
            #expect(try await nodes[1].connect(to: NodeAddress(host: "localhost", port: port)) == peer)
            #expect(try await nodes[1].connect(to: nodes[0].node.address) == peer)
            #expect(nodes[1].connectedNodes == [nodes[0].node])
        }
    }

    @Test("both nodes calling each other at once share one connection")
    func simultaneousConnect() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let a = Greeter(actorSystem: nodes[0])
            let b = Greeter(actorSystem: nodes[1])
            let remoteA = try Greeter.resolve(id: a.id, using: nodes[1])
            let remoteB = try Greeter.resolve(id: b.id, using: nodes[0])
            for _ in 0..<5 {
                async let x = remoteA.greet("from 1")
                async let y = remoteB.greet("from 0")
                _ = try await (x, y)
            }
            #expect(nodes[0].connectedNodes == [nodes[1].node])
            #expect(nodes[1].connectedNodes == [nodes[0].node])
        }
    }
}
