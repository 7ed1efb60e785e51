import Foundation
import Kumo
import KumoKV
import KumoTestKit
import Testing

/// Three `kumo-kv` processes (beside the test bundle, or at $KUMO_KV_BINARY), driven over their
/// RESP ports by this test's client and by the real redis-cli and redis-benchmark.
@Suite("KV nodes in separate OS processes", .serialized, .timeLimit(.minutes(3)))
struct KVProcessTests {
    struct Server {
        var process: ChildProcess
        var address: String
        var respPort: Int
    }

    func startServer(secret: String, seed: String?, extra: [String] = []) async throws -> Server {
        let child = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo-kv", override: "KUMO_KV_BINARY"),
            arguments: ["--port", "0", "--resp-port", "0", "--secret", secret, "--log-level", "warning", "--downing-timeout", "1"]
                + (seed.map { ["--seed", $0] } ?? []) + extra,
            readyPrefix: "kumo-kv ready: ")
        let address = try #require(child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }?.dropFirst("address=".count))
        let resp = try #require(child.outputLines.first { $0.hasPrefix("kumo-kv resp: ") })
        let port = try #require(resp.split(separator: ":").last.flatMap { Int($0) })
        return Server(process: child, address: String(address), respPort: port)
    }

    func startCluster(secret: String) async throws -> [Server] {
        let first = try await startServer(secret: secret, seed: nil)
        var servers = [first]
        for _ in 0..<2 { servers.append(try await startServer(secret: secret, seed: first.address)) }
        // Until every node places keys over three nodes (INFO says how many it sees).
        let clock = ContinuousClock()
        let end = clock.now + .seconds(20)
        for server in servers {
            let client = try await RESPClient.connect(port: server.respPort)
            while clock.now < end {
                if try await client.call("INFO").text?.contains("store_nodes:3") == true { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            await client.close()
        }
        return servers
    }

    @Test("kill -9 one of three nodes while a client writes: every acknowledged write is readable from the survivors, with its last value")
    func killWhileWriting() async throws {
        let secret = "kv-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let servers = try await startCluster(secret: secret)
        defer { for server in servers { server.process.kill() } }
        let writer = try await RESPClient.connect(port: servers[0].respPort)
        var acknowledged: [String: String] = [:]
        var failed = 0
        for round in 0..<600 {
            let key = "k\(round % 50)"
            let value = "v\(round)"
            if round == 200 { servers[2].process.kill() }
            switch try await writer.call("SET", key, value) {
            case .ok: acknowledged[key] = value
            default: failed += 1
            }
        }
        #expect(acknowledged.count == 50)
        #expect(failed == 0, "writes wait for a dead holder until it is downed, then go on")
        for server in servers.prefix(2) {
            let reader = try await RESPClient.connect(port: server.respPort)
            for (key, value) in acknowledged {
                #expect(try await reader.call("GET", key).text == value, "\(key) read from port \(server.respPort)")
            }
            await reader.close()
        }
        await writer.close()

        // A new node joins and catches up; then another original node dies, and the new node
        // and the last original still hold every key.
        let newcomer = try await startServer(secret: secret, seed: servers[0].address)
        defer { newcomer.process.kill() }
        let probe = try await RESPClient.connect(port: newcomer.respPort)
        let clock = ContinuousClock()
        let end = clock.now + .seconds(20)
        for server in [servers[0], servers[1], newcomer] {
            let client = try await RESPClient.connect(port: server.respPort)
            while clock.now < end {
                let info = try await client.call("INFO").text ?? ""
                if info.contains("store_nodes:3"), info.contains("rereplication:idle") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            await client.close()
        }
        servers[1].process.kill()
        for (key, value) in acknowledged {
            #expect(try await probe.call("GET", key).text == value, "\(key) read from the newcomer")
        }
        await probe.close()
    }

    @Test("a node restarted with --data has its data back")
    func restartWithData() async throws {
        let secret = "kv-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kumo-kv-\(UInt64.random(in: 1...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let alone = try await startServer(secret: secret, seed: nil, extra: ["--data", directory, "--replicas", "1"])
        let client = try await RESPClient.connect(port: alone.respPort)
        for index in 0..<20 { #expect(try await client.call("SET", "d\(index)", "x\(index)") == .ok) }
        await client.close()
        alone.process.kill()
        _ = await alone.process.waitForExit()
        let again = try await startServer(secret: secret, seed: nil, extra: ["--data", directory, "--replicas", "1"])
        defer { again.process.kill() }
        let reader = try await RESPClient.connect(port: again.respPort)
        for index in 0..<20 { #expect(try await reader.call("GET", "d\(index)").text == "x\(index)") }
        await reader.close()
    }

    static let redisTools = ["redis-cli", "redis-benchmark"].allSatisfy { FileManager.default.isExecutableFile(atPath: "/usr/bin/\($0)") }

    // .ci/run installs redis-tools; a machine without them skips this test, saying why.
    @Test(
        "redis-cli and redis-benchmark work against a three-node cluster",
        .enabled(if: redisTools, "redis-cli and redis-benchmark are not installed (apt-get install redis-tools)"))
    func realClients() async throws {
        let cli = "/usr/bin/redis-cli"
        let benchmark = "/usr/bin/redis-benchmark"
        let secret = "kv-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let servers = try await startCluster(secret: secret)
        defer { for server in servers { server.process.kill() } }
        let port = "\(servers[1].respPort)"
        #expect(try await runToEnd(cli, ["-p", port, "SET", "greeting", "hello"]).output == "OK\n")
        #expect(try await runToEnd(cli, ["-p", "\(servers[2].respPort)", "GET", "greeting"]).output == "hello\n")
        #expect(try await runToEnd(cli, ["-p", port, "INCR", "greeting"]).output.contains("ERR value is not an integer"))
        for pipeline in ["1", "16"] {
            let result = try await runToEnd(benchmark, ["-p", port, "-t", "set,get", "-n", "5000", "-c", "20", "-P", pipeline, "-q"])
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("SET: ") && result.output.contains("GET: "), "\(result.output)")
            #expect(!result.output.lowercased().contains("error"), "\(result.output)")
        }
    }
}
