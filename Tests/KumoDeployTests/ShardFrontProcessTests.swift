import Foundation
import KumoTestKit
import Testing

/// `kumo shard-front` in front of three `kumo-sharded-web node` processes, driven with curl and
/// wrk.
@Suite("The sharding front across processes", .serialized, .timeLimit(.minutes(2)),
       .enabled(if: which("curl") != nil, "curl is not installed"))
struct ShardFrontProcessTests {
    struct Answer {
        var status: Int
        var shard: String?
        var servedBy: String?
    }

    /// One request through curl: the status and the headers that say where it went.
    func curl(_ port: Int, _ path: String) async throws -> Answer {
        let curl = try #require(which("curl"))
        let (_, output) = try await runToEnd(curl, ["-s", "-o", "/dev/null", "-D", "-", "--max-time", "5", "http://127.0.0.1:\(port)\(path)"])
        var answer = Answer(status: 0)
        for line in output.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("HTTP/") { answer.status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0 }
            let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0].lowercased() == "x-kumo-shard" { answer.shard = parts[1] }
            if parts[0].lowercased() == "x-served-by" { answer.servedBy = parts[1] }
        }
        return answer
    }

    /// Three backends and a front over them; every process is in `processes`, to kill.
    func start(_ processes: inout [ChildProcess]) async throws -> (backends: [(process: ChildProcess, port: Int, name: String)], port: Int) {
        var backends: [(process: ChildProcess, port: Int, name: String)] = []
        for index in 0..<3 {
            let process = try await ChildProcess.launch(
                executable: siblingExecutable(named: "kumo-sharded-web"),
                arguments: ["node", "--name", "web\(index)", "--port", "0", "--http-port", "0", "--secret", "shard-test", "--log-level", "warning"],
                readyPrefix: "kumo-sharded-web ready:")
            processes.append(process)
            let line = try #require(process.outputLines.first { $0.hasPrefix("kumo-sharded-web http: ") })
            let port = try #require(Int(line.split(separator: ":").last ?? ""))
            backends.append((process, port, "web\(index)"))
        }
        let front = try await ChildProcess.launch(
            executable: siblingExecutable(named: "kumo", override: "KUMO_BINARY"),
            arguments: ["shard-front", "--listen", "0", "--pattern", "^/users/([^/?]+)", "--shards", "12", "--probe-milliseconds", "100", "--log-level", "warning"]
                + backends.flatMap { ["--backend", "127.0.0.1:\($0.port)"] },
            readyPrefix: "kumo shard-front ready:")
        processes.append(front)
        let port = try #require(Int(front.readyLine.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? ""))
        return (backends, port)
    }

    @Test("each user's requests go to one shard's backend; when that backend dies its shards move and the others stay")
    func routingAndRebalancing() async throws {
        var processes: [ChildProcess] = []
        defer { for process in processes { process.kill() } }
        let (backends, port) = try await start(&processes)

        let users = (0..<24).map { "user\($0)" }
        var before: [String: Answer] = [:]
        for user in users {
            let answer = try await curl(port, "/users/\(user)/profile")
            #expect(answer.status == 200)
            before[user] = answer
            let again = try await curl(port, "/users/\(user)/orders?page=2")
            #expect(again.servedBy == answer.servedBy && again.shard == answer.shard, "\(user) went to two backends")
        }
        let servers = Set(before.values.compactMap(\.servedBy))
        #expect(servers.count >= 2, "the shards should spread: \(servers)")

        // The backend of user0's shard dies.
        let victimName = try #require(before["user0"]?.servedBy)
        let victim = try #require(backends.first { $0.name == victimName })
        victim.process.kill()
        _ = await victim.process.waitForExit()
        try await Task.sleep(for: .milliseconds(500))
        for user in users {
            let answer = try await curl(port, "/users/\(user)/profile")
            #expect(answer.status == 200, "\(user): \(answer.status)")
            #expect(answer.shard == before[user]?.shard, "a key keeps its shard")
            if before[user]?.servedBy == victimName {
                #expect(answer.servedBy != victimName && answer.servedBy != nil, "\(user) is still sent to the dead backend")
            } else {
                #expect(answer.servedBy == before[user]?.servedBy, "\(user) moved though its backend lives")
            }
        }

    }

    @Test("wrk through the front: every response is 2xx, no socket error",
          .enabled(if: which("wrk") != nil, "wrk is not installed (apt-get install wrk)"))
    func underWrk() async throws {
        var processes: [ChildProcess] = []
        defer { for process in processes { process.kill() } }
        let (_, port) = try await start(&processes)
        let wrk = try #require(which("wrk"))
        let (status, output) = try await runToEnd(wrk, ["-t", "1", "-c", "4", "-d", "1s", "http://127.0.0.1:\(port)/users/user1/profile"])
        #expect(status == 0, "\(output)")
        #expect(!output.contains("Non-2xx"), "\(output)")
        #expect(!output.contains("Socket errors"), "\(output)")
        let requests = output.split(whereSeparator: \.isNewline).first { $0.contains("requests in") }
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") } ?? 0
        #expect(requests > 100, "\(output)")
    }
}
