import Kumo
import KumoTestKit
import Synchronization
import Testing

@testable import KumoGears

/// Christie's counting loop: take "count", record it, put count + 1 until the limit, and arm the
/// next gear.
struct CountUp: CodeGear {
    @Take("count") var count: Int
    let limit: Int
    let seen: Mutex<[Int]>.Shared

    func run(_ cgm: CodeGearManager) async throws {
        seen.value.withLock { $0.append(count) }
        guard count < limit else { return }
        try await cgm.local.put("count", count + 1)
        cgm.setup(CountUp(limit: limit, seen: seen))
    }
}

extension Mutex where Value: Sendable {
    /// A mutex several gears share.
    final class Shared: Sendable {
        let value: Mutex<Value>
        init(_ initial: sending Value) { value = Mutex(initial) }
    }
}

/// Adds two inputs, one taken and one peeked, and puts the sum.
struct Add: CodeGear {
    @Take("a") var a: Int
    @Peek("b") var b: Int

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.local.put("sum", a + b)
    }
}

/// Lists its inputs itself rather than by reflection.
struct Listed: CodeGear {
    @Take("x") var x: Int
    @Peek("y") var y: Int

    var inputs: [any GearInput] { [_y, _x] }

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.local.put("product", x * y)
    }
}

/// The same as `Add`, its inputs listed by `@Gear`.
@Gear
struct MacroAdd {
    @Take("a") var a: Int
    @Peek("b") var b: Int
    let offset: Int

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.local.put("sum", a + b + offset)
    }
}

/// Takes a token from another manager's DGM and puts it, plus one, in the local one.
struct Relay: CodeGear {
    @RemoteTake("peer", "token") var token: Int

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.local.put("relayed", token + 1)
    }
}

/// Expects a String where an Int is stored.
struct Mistyped: CodeGear {
    @Take("number") var text: String

    func run(_ cgm: CodeGearManager) async throws {}
}

/// Arms `Echo`, then waits until it has run: only possible if a gear armed by a running gear
/// does not wait for that gear to return.
struct ArmThenWait: CodeGear {
    @Take("go") var go: Int

    func run(_ cgm: CodeGearManager) async throws {
        cgm.setup(Echo())
        try await cgm.local.put("x", go)
        let echoed: Int = try await cgm.local.take("echoed")
        try await cgm.local.put("done", echoed)
    }
}

/// Takes x and puts it back as echoed.
struct Echo: CodeGear {
    @Take("x") var x: Int

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.local.put("echoed", x)
    }
}

/// Arms a gear that waits on a remote DGM, as its last act.
struct ArmRelay: CodeGear {
    @Take("go") var go: Int

    func run(_ cgm: CodeGearManager) async throws {
        cgm.setup(Relay())
    }
}

func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting until \(what)")
}

@Suite("Code Gears", .timeLimit(.minutes(1)))
struct CodeGearTests {
    @Test("a gear runs when all its inputs are present; until then the manager says what it waits for")
    func inputs() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "solo", system: cluster.nodes[0])
        cgm.setup(Add())
        try await eventually("the gear is armed") { cgm.waiting.first?.keys == ["a", "b"] }
        try await cgm.local.put("a", 40)
        try await eventually("a was read") { cgm.waiting.first?.keys == ["b"] }
        #expect(cgm.waiting.count == 1 && cgm.waiting[0].gear == "Add")
        try await cgm.local.put("b", 2)
        #expect(try await cgm.local.take("sum", as: Int.self) == 42)
        #expect(cgm.waiting.isEmpty)
        #expect(await cgm.local.count("b") == 1, "a peeked input stays")
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("a gear that lists its inputs itself runs like one found by reflection")
    func listedInputs() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "listed", system: cluster.nodes[0])
        cgm.setup(Listed())
        try await eventually("armed, inputs in key order") { cgm.waiting.first?.keys == ["x", "y"] }
        try await cgm.local.put("y", 6)
        try await cgm.local.put("x", 7)
        #expect(try await cgm.local.take("product", as: Int.self) == 42)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("@Gear lists a gear's inputs at compile time; the gear waits for them and runs like any other")
    func gearMacro() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "macro", system: cluster.nodes[0])
        let gear = MacroAdd(offset: 100)
        #expect(gear.inputs.map(\.key) == ["a", "b"])
        #expect(gear.inputs.map(\.mode) == [.take, .peek])
        cgm.setup(gear)
        try await cgm.local.put("b", 2)
        try await eventually("it waits for a, then b") { cgm.waiting.map(\.keys) == [["a", "b"]] }
        try await cgm.local.put("a", 1)
        #expect(try await cgm.local.take("sum", as: Int.self) == 103)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("a gear value armed twice is refused, naming the gear and the input it would share")
    func armedTwice() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "twice", system: cluster.nodes[0])
        let gear = MacroAdd(offset: 0)
        cgm.setup(gear)
        cgm.setup(gear)
        #expect(cgm.waiting.count == 1)
        let failure = try #require(cgm.failures.first)
        #expect(failure.gear == "MacroAdd" && failure.error.contains("armed twice") && failure.error.contains("a"))
        try await cgm.local.put("a", 1)
        try await cgm.local.put("b", 2)
        #expect(try await cgm.local.take("sum", as: Int.self) == 3)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("Christie's counting loop: each gear arms the next until the limit")
    func countingLoop() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "counter", system: cluster.nodes[0])
        let seen = Mutex<[Int]>.Shared([])
        cgm.setup(CountUp(limit: 100, seen: seen))
        try await cgm.local.put("count", 0)
        try await eventually("it counted to 100") { seen.value.withLock { $0.count } == 101 }
        #expect(seen.value.withLock { $0 } == Array(0...100))
        #expect(cgm.waiting.isEmpty && cgm.failures.isEmpty)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("on the event loop, a gear armed by a running gear that then waits still runs at once")
    func armedByAWaitingGear() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "loop", system: cluster.nodes[0], runsGearsOnEventLoop: true)
        cgm.setup(ArmThenWait())
        try await cgm.local.put("go", 5)
        // ArmThenWait waits for what Echo puts; Echo was armed by it and must not wait for it.
        #expect(try await cgm.local.take("done", as: Int.self) == 5)
        #expect(cgm.waiting.isEmpty && cgm.failures.isEmpty)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("on the event loop, a long chain of gears runs in a row, and the node keeps answering meanwhile")
    func longChainOnTheLoop() async throws {
        let cluster = try await TestCluster.start(nodes: 2)
        try await cluster.waitForConvergence()
        let cgm = try CodeGearManager(name: "loop", system: cluster.nodes[0], runsGearsOnEventLoop: true)
        let other = try CodeGearManager(name: "other", system: cluster.nodes[1])
        other.connect("loop", to: "loop", on: cluster.nodes[0].node)
        let seen = Mutex<[Int]>.Shared([])
        cgm.setup(CountUp(limit: 20_000, seen: seen))
        try await cgm.local.put("count", 0)
        // A remote put to the busy node is served while the chain runs.
        try await other.dgm("loop").put("ping", 1)
        try await eventually("it counted to 20000", timeout: .seconds(30)) { seen.value.withLock { $0.count } == 20_001 }
        #expect(seen.value.withLock { $0 } == Array(0...20_000))
        #expect(try await cgm.local.take("ping", as: Int.self) == 1)
        #expect(cgm.waiting.isEmpty && cgm.failures.isEmpty)
        await cgm.close()
        await other.close()
        await cluster.shutdown()
    }

    @Test("closing a manager ends a gear that waits on a remote DGM in the task of the gear that armed it")
    func closeEndsQueuedGear() async throws {
        let cluster = try await TestCluster.start(nodes: 2)
        try await cluster.waitForConvergence()
        let a = try CodeGearManager(name: "a", system: cluster.nodes[0], runsGearsOnEventLoop: true)
        _ = try CodeGearManager(name: "b", system: cluster.nodes[1])
        a.connect("peer", to: "b", on: cluster.nodes[1].node)
        a.setup(ArmRelay())
        try await a.local.put("go", 1)
        try await eventually("the relay waits on the remote DGM") { a.waiting.map(\.keys) == [["peer/token"]] }
        await a.close()
        try await eventually("the relay ended") { a.waiting.isEmpty }
        await cluster.shutdown()
    }

    @Test("a gear expecting another type fails naming the key and both types; the value stays")
    func mistyped() async throws {
        let cluster = try await TestCluster.start(nodes: 1)
        let cgm = try CodeGearManager(name: "typed", system: cluster.nodes[0])
        try await cgm.local.put("number", 5)
        cgm.setup(Mistyped())
        try await eventually("the gear failed") { !cgm.failures.isEmpty }
        let failure = try #require(cgm.failures.first)
        #expect(failure.gear == "Mistyped" && failure.error.contains("number"))
        #expect(failure.error.contains("Swift.Int") && failure.error.contains("Swift.String"))
        #expect(try await cgm.local.take("number", as: Int.self) == 5)
        await cgm.close()
        await cluster.shutdown()
    }

    @Test("two managers in one process reach each other's DGMs through the cluster")
    func remote() async throws {
        let cluster = try await TestCluster.start(nodes: 2)
        try await cluster.waitForConvergence()
        let a = try CodeGearManager(name: "a", system: cluster.nodes[0])
        let b = try CodeGearManager(name: "b", system: cluster.nodes[1])
        a.connect("peer", to: "b", on: cluster.nodes[1].node)
        let peer = try a.dgm("peer")
        try await peer.put("x", 1)
        try await peer.update("x", 2)
        #expect(try await b.local.peek("x", as: Int.self) == 2)
        #expect(try await peer.take("x", as: Int.self) == 2)
        // A remote take waits until the gear comes.
        async let waited: String = peer.take("later")
        try await Task.sleep(for: .milliseconds(50))
        try await b.local.put("later", "here")
        #expect(try await waited == "here")
        // flip: from the remote DGM to the local one, without decoding.
        try await b.local.put("move", [1, 2, 3])
        try await peer.flip("move", to: a.local)
        #expect(try await a.local.take("move", as: [Int].self) == [1, 2, 3])
        // A gear with a remote input.
        a.setup(Relay())
        try await b.local.put("token", 41)
        #expect(try await a.local.take("relayed", as: Int.self) == 42)
        let unknown = #expect(throws: GearError.self) { try a.dgm("nobody") }
        #expect(unknown?.code == .unknownManager)
        await a.close()
        await b.close()
        await cluster.shutdown()
    }

    @Test("a DGM named compressed… is sent gears compressed; readers get them decompressed; a relay forwards them as they are")
    func compressed() async throws {
        let cluster = try await TestCluster.start(nodes: 3)
        try await cluster.waitForConvergence()
        let a = try CodeGearManager(name: "a", system: cluster.nodes[0])
        let b = try CodeGearManager(name: "b", system: cluster.nodes[1])
        let c = try CodeGearManager(name: "c", system: cluster.nodes[2])
        a.connect("compressedremote", to: "b", on: cluster.nodes[1].node)
        b.connect("compressednext", to: "c", on: cluster.nodes[2].node)
        let text = String(repeating: "all work and no play ", count: 2000)
        try await a.dgm("compressedremote").put("text", text)
        let stored = try await b.local.peekGear("text")
        let compressed = try #require(stored.compressed)
        #expect(stored.bytes == nil && compressed.count < text.utf8.count / 10)
        #expect(try await b.local.peek("text", as: String.self) == text)
        // The relay hands the gear on; the next DGM gets the same compressed bytes.
        try await b.local.flip("text", to: try b.dgm("compressednext"))
        #expect(try await c.local.peekGear("text").compressed == compressed)
        #expect(try await c.local.take("text", as: String.self) == text)
        for manager in [a, b, c] { await manager.close() }
        await cluster.shutdown()
    }

    @Test("a gear waiting on a remote DGM whose node dies fails naming the DGM and the node")
    func remoteDies() async throws {
        let cluster = try await TestCluster.start(nodes: 2, downAfter: .seconds(3))
        try await cluster.waitForConvergence()
        let a = try CodeGearManager(name: "a", system: cluster.nodes[0])
        _ = try CodeGearManager(name: "b", system: cluster.nodes[1])
        let victim = cluster.nodes[1].node
        a.connect("peer", to: "b", on: victim)
        a.setup(Relay())
        try await eventually("the gear waits") { a.waiting.first?.keys == ["peer/token"] }
        await cluster.kill(1)
        try await eventually("the gear failed", timeout: .seconds(15)) { !a.failures.isEmpty }
        let failure = try #require(a.failures.first)
        #expect(failure.error.contains("managerGone") && failure.error.contains("peer") && failure.error.contains("\(victim)"))
        #expect(a.waiting.isEmpty)
        await a.close()
        await cluster.shutdown()
    }
}
