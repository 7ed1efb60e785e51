import Foundation
import Kumo
import KumoTestKit
import Testing

/// Three `kumo-chat` processes (found beside the test bundle, or at $KUMO_CHAT_BINARY), clients
/// over plain TCP sockets, and one server killed mid-chat.
@Suite("Chat servers in separate OS processes", .serialized, .timeLimit(.minutes(2)))
struct ChatProcessTests {
    struct Server {
        var process: ChildProcess
        var address: String
        var chatPort: Int
    }

    func startServer(secret: String, seed: String?) async throws -> Server {
        let child = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo-chat", override: "KUMO_CHAT_BINARY"),
            arguments: ["--port", "0", "--chat-port", "0", "--secret", secret, "--log-level", "warning", "--downing-timeout", "3"]
                + (seed.map { ["--seed", $0] } ?? []),
            readyPrefix: "kumo-chat ready: ")
        let address = try #require(child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }?.dropFirst("address=".count))
        let chat = try #require(child.outputLines.first { $0.hasPrefix("kumo-chat chat: ") })
        let port = try #require(chat.split(separator: ":").last.flatMap { Int($0) })
        return Server(process: child, address: String(address), chatPort: port)
    }

    func join(_ name: String, at server: Server, seenBy others: [LineClient] = []) async throws -> LineClient {
        // A server that has just started may not know the others yet: its clients' names reach
        // them when it meets them, as a connection.
        let client = try await LineClient.connect(port: server.chatPort)
        await client.expect("What is your name?")
        try await client.send(name)
        await client.expect("*** \(name) has connected")
        for other in others { await other.expect("*** \(name) has connected") }
        return client
    }

    @Test("three servers, clients on each; one server killed mid-chat takes its clients with it; SIGTERM stops the rest")
    func killedMidChat() async throws {
        let secret = "chat-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let first = try await startServer(secret: secret, seed: nil)
        defer { first.process.kill() }
        let second = try await startServer(secret: secret, seed: first.address)
        defer { second.process.kill() }
        let third = try await startServer(secret: secret, seed: first.address)
        defer { third.process.kill() }
        let alice = try await join("alice", at: first)
        let bob = try await join("bob", at: second, seenBy: [alice])
        let carol = try await join("carol", at: third, seenBy: [alice, bob])
        try await bob.send("hi from bob")
        for client in [alice, bob, carol] { await client.expect("<bob>: hi from bob") }
        try await carol.send("/tell alice private")
        await alice.expect("*carol*: private")

        second.process.kill()
        await bob.expectClosed()
        await alice.expect("*** bob has disconnected", timeout: .seconds(15))
        await carol.expect("*** bob has disconnected", timeout: .seconds(15))
        try await alice.send("still here")
        if await !carol.expect("<alice>: still here") {
            for (name, server) in [("first", first), ("third", third)] {
                Issue.record("\(name) server's last lines: \(server.process.outputLines.suffix(30))")
            }
        }

        for client in [alice, bob, carol] { await client.close() }
        for server in [first, third] {
            server.process.terminate()
            #expect(await server.process.waitForExit(timeout: .seconds(15)) == 0)
        }
    }
}
