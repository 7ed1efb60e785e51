import Kumo
import KumoChatServer
import KumoTestKit
import Testing

/// Three chat servers on three nodes in this process, clients over real sockets.
@Suite("Chat across servers", .timeLimit(.minutes(1)))
struct ChatClusterTests {
    /// `downAfter`: short only for the test that kills a server; on a loaded machine (the whole
    /// suite at once) a starved node can look unreachable for a second.
    func start(_ count: Int, downAfter: Duration = .seconds(8)) async throws -> (TestCluster, [ChatServer]) {
        let cluster = try await TestCluster.start(nodes: count, downAfter: downAfter)
        try await cluster.waitForConvergence()
        var servers: [ChatServer] = []
        for node in cluster.nodes { servers.append(try await ChatServer.start(on: node, host: "127.0.0.1", port: 0)) }
        // Every server knows every other before clients come.
        let clock = ContinuousClock()
        let end = clock.now + .seconds(15)
        for server in servers {
            while await server.servers() < count, clock.now < end { try await Task.sleep(for: .milliseconds(20)) }
            #expect(await server.servers() == count)
        }
        return (cluster, servers)
    }

    /// Disconnects `clients`, closes `servers` and shuts the cluster down.
    func stop(_ cluster: TestCluster, _ servers: [ChatServer], clients: [LineClient] = []) async {
        for client in clients { await client.close() }
        for server in servers { await server.close() }
        await cluster.shutdown()
    }

    /// Connects and joins as `name`, once every server knows every other (a join seen everywhere).
    func join(_ name: String, at server: ChatServer) async throws -> LineClient {
        let client = try await LineClient.connect(port: server.port)
        await client.expect("What is your name?")
        try await client.send(name)
        await client.expect("*** \(name) has connected")
        return client
    }

    @Test("every protocol line, across three servers")
    func protocolLines() async throws {
        let (cluster, servers) = try await start(3)
        let alice = try await join("alice", at: servers[0])
        let bob = try await join("bob", at: servers[1])
        await alice.expect("*** bob has connected")
        let carol = try await join("carol", at: servers[2])
        await alice.expect("*** carol has connected")
        await bob.expect("*** carol has connected")

        // An empty name and a taken one ask again.
        let dave = try await LineClient.connect(port: servers[2].port)
        await dave.expect("What is your name?")
        try await dave.send("")
        await dave.expect("What is your name?")
        try await dave.send("alice")
        await dave.expect("The name alice is in use, please choose another")
        await dave.expect("What is your name?")
        try await dave.send("dave")
        await dave.expect("*** dave has connected")

        try await alice.send("hello everyone")
        for client in [alice, bob, carol, dave] { await client.expect("<alice>: hello everyone") }

        try await bob.send("/tell carol meet me at five")
        await carol.expect("*bob*: meet me at five")
        #expect(await !alice.receives("*bob*: meet me at five", within: .milliseconds(200)))
        try await bob.send("/tell zed hi")
        await bob.expect("zed is not connected.")

        try await carol.send("/frobnicate now")
        await carol.expect("Unrecognised command: /frobnicate now")

        try await alice.send("/kick dave")
        // The kick's answer comes from alice's server, the disconnection from dave's: either first.
        await alice.expectAll(["*** you kicked dave", "*** dave has disconnected"])
        await dave.expect("You have been kicked: by alice")
        await dave.expectClosed()
        for client in [bob, carol] { await client.expect("*** dave has disconnected") }

        try await bob.send("/quit")
        await bob.expectClosed()
        for client in [alice, carol] { await client.expect("*** bob has disconnected") }

        // The name is free again.
        let bob2 = try await join("bob", at: servers[0])
        await carol.expect("*** bob has connected")

        await stop(cluster, servers, clients: [alice, carol, bob2])
    }

    @Test("two clients racing for one name on two servers: exactly one gets it")
    func nameRace() async throws {
        let (cluster, servers) = try await start(3)
        for round in 0..<5 {
            let name = "racer\(round)"
            let first = try await LineClient.connect(port: servers[1].port)
            let second = try await LineClient.connect(port: servers[2].port)
            await first.expect("What is your name?")
            await second.expect("What is your name?")
            async let a: Void = first.send(name)
            async let b: Void = second.send(name)
            _ = try await (a, b)
            let firstWon = await first.receives("*** \(name) has connected", within: .seconds(3))
            let secondWon = await second.receives("*** \(name) has connected", within: .milliseconds(500))
            #expect(firstWon != secondWon, "round \(round): exactly one of the two gets \(name)")
            let loser = firstWon ? second : first
            await loser.expect("The name \(name) is in use, please choose another")
            await first.close()
            await second.close()
        }
        await stop(cluster, servers)
    }

    @Test("lines that are too long or not UTF-8 get an error line; the client goes on")
    func badLines() async throws {
        let (cluster, servers) = try await start(1)
        let erin = try await join("erin", at: servers[0])
        try await erin.sendBytes(Array(repeating: UInt8(ascii: "x"), count: 10_000) + [0x0A])
        await erin.expect("*** error: a line is at most 4096 bytes; that one was dropped")
        try await erin.sendBytes([0xC3, 0x28, 0x0A])
        await erin.expect("*** error: a line must be UTF-8 text; that one was dropped")
        try await erin.send("still here")
        await erin.expect("<erin>: still here")
        await stop(cluster, servers, clients: [erin])
    }

    @Test("a client that reads nothing is disconnected once a send queue's worth waits for it; the others chat on")
    func slowReader() async throws {
        let (cluster, servers) = try await start(2)
        let alice = try await join("alice", at: servers[0])
        let sloth = try await LineClient.connect(port: servers[0].port, reading: false)
        try await sloth.send("sloth")
        await alice.expect("*** sloth has connected")
        let bob = try await join("bob", at: servers[1])
        // Every line alice says is shown to sloth too, which takes none of it: past the send
        // queue (and what the kernel buffers hold) the server lets sloth go.
        let text = String(repeating: "x", count: 1000)
        let lines = 3 * ChatServer.sendQueueLimit / 1000 + 4000
        for index in 0..<lines { try await alice.send("\(index) \(text)") }
        await alice.expect("*** sloth has disconnected", timeout: .seconds(30))
        await bob.expect("*** sloth has disconnected", timeout: .seconds(30))
        await bob.expect("<alice>: \(lines - 1) \(text)", timeout: .seconds(30))
        // sloth gets what the kernel held for it, then the end of the connection.
        sloth.startReading()
        await sloth.expectClosed(timeout: .seconds(30))
        try await alice.send("still here")
        await bob.expect("<alice>: still here")
        await stop(cluster, servers, clients: [alice, bob, sloth])
    }

    @Test("a client sending faster than its server handles lines is read from more slowly, and every line arrives in order")
    func fastSender() async throws {
        let (cluster, servers) = try await start(2)
        let alice = try await join("alice", at: servers[0])
        let bob = try await join("bob", at: servers[1])
        await alice.expect("*** bob has connected")
        // In one write, so the server reads them far faster than it shows them: it pauses
        // reading alice while a thousand wait, and resumes as they are handled.
        let count = 6000
        try await alice.sendBytes(Array((0..<count).map { "line \($0)\n" }.joined().utf8))
        for index in stride(from: 0, to: count, by: 1000) { await bob.expect("<alice>: line \(index)", timeout: .seconds(30)) }
        await bob.expect("<alice>: line \(count - 1)", timeout: .seconds(30))
        try await alice.send("after")
        await bob.expect("<alice>: after")
        await stop(cluster, servers, clients: [alice, bob])
    }

    @Test("a server that dies takes its clients with it, for every other server's clients")
    func serverDies() async throws {
        let (cluster, servers) = try await start(3, downAfter: .seconds(3))
        let alice = try await join("alice", at: servers[0])
        let bob = try await join("bob", at: servers[1])
        let carol = try await join("carol", at: servers[2])
        await alice.expect("*** carol has connected")
        await bob.expect("*** carol has connected")
        await cluster.kill(1)
        await alice.expect("*** bob has disconnected", timeout: .seconds(15))
        await carol.expect("*** bob has disconnected", timeout: .seconds(15))
        // The name is free, and the others go on talking.
        let bob2 = try await join("bob", at: servers[2])
        try await alice.send("welcome back")
        await bob2.expect("<alice>: welcome back")
        await stop(cluster, [servers[0], servers[2]], clients: [alice, bob, carol, bob2])
    }
}
