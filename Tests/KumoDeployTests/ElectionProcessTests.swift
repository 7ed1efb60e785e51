import Foundation
import KumoTestKit
import Testing

/// One term of a leader, as the election example's lines and the test's kills tell it.
struct Term: CustomStringConvertible {
    var process: Int
    var token: UInt64
    var start: Int64
    var end: Int64?

    var description: String { "p\(process) token \(token) [\(start), \(end.map(String.init) ?? "…")]" }

    /// The terms a process's lines tell: `elected: token=N at=MS` … `demoted: token=N at=MS`.
    static func parse(_ lines: [String], process: Int) -> [Term] {
        var terms: [Term] = []
        for line in lines {
            guard line.hasPrefix("kumo-election elected: ") || line.hasPrefix("kumo-election demoted: ") else { continue }
            var fields: [String: String] = [:]
            for field in line.split(separator: " ") {
                let pair = field.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            guard let at = fields["at"].flatMap({ Int64($0) }) else { continue }
            if line.contains("elected:"), let token = fields["token"].flatMap({ UInt64($0) }) {
                terms.append(Term(process: process, token: token, start: at))
            } else if !terms.isEmpty, terms[terms.count - 1].end == nil {
                terms[terms.count - 1].end = at
            }
        }
        return terms
    }

    /// Checks that no two terms overlap and that tokens grow with time.
    static func expectDisjoint(_ terms: [Term], sourceLocation: SourceLocation = #_sourceLocation) {
        let sorted = terms.sorted { $0.start < $1.start }
        for (previous, next) in zip(sorted, sorted.dropFirst()) {
            #expect(next.token > previous.token, "tokens must grow: \(previous) then \(next)", sourceLocation: sourceLocation)
            if let end = previous.end {
                #expect(next.start >= end, "two leaders at once: \(previous) and \(next)", sourceLocation: sourceLocation)
            } else {
                Issue.record("\(previous) never ended before \(next) began", sourceLocation: sourceLocation)
            }
        }
    }
}

/// `kumo-election` processes, over the cluster's membership (found by DNS through a hosts
/// file, as in Kubernetes) and over a real etcd.
@Suite("Leader election across processes", .serialized, .timeLimit(.minutes(3)))
struct ElectionProcessTests {
    let binary = siblingExecutable(named: "kumo-election")

    func leading(_ process: ChildProcess) -> Bool {
        Term.parse(process.outputLines, process: 0).last.map { $0.end == nil } ?? false
    }

    @Test("membership: the oldest of three nodes found by DNS leads; killed, the next oldest leads with a higher token")
    func overMembership() async throws {
        let directory = try TemporaryDirectory("election")
        defer { directory.cleanUp() }
        let port = try await freePort()
        let hosts = directory.file("hosts")
        try (1...3).map { "127.0.0.\($0) kumo-election-peers.default.svc kumo-election-peers\n" }.joined()
            .write(toFile: hosts, atomically: true, encoding: .utf8)
        var processes: [ChildProcess] = []
        defer { for process in processes { process.kill() } }
        for index in 1...3 {
            processes.append(try await ChildProcess.launch(
                executable: binary,
                arguments: [
                    "--name", "e\(index)", "--host", "127.0.0.\(index)", "--port", "\(port)",
                    "--dns", "kumo-election-peers:\(port)", "--hosts-file", hosts,
                    "--secret", "election-test", "--downing-timeout", "1.5", "--log-level", "warning",
                ],
                readyPrefix: "kumo-election ready:"))
            // The first node leads alone before the others come: it is the oldest.
            if index == 1 { #expect(await eventually { leading(processes[0]) }) }
        }
        try await Task.sleep(for: .seconds(2))
        #expect(processes.map(leading) == [true, false, false], "\(processes.map(\.outputLines))")
        let first = try #require(Term.parse(processes[0].outputLines, process: 0).last)
        processes[0].kill()
        let killed = nowMillis()
        #expect(await eventually(timeout: .seconds(20)) { processes[1...].contains(where: leading) })
        try await Task.sleep(for: .seconds(1))
        let leaders = processes[1...].filter(leading)
        #expect(leaders.count == 1, "one leader, not \(leaders.count)")
        let successor = try #require(leaders.first)
        let next = try #require(Term.parse(successor.outputLines, process: 1).last)
        #expect(next.token > first.token)
        #expect(next.start >= killed)
    }
}

/// etcd, started for the test on free ports.
final class Etcd {
    let clientPort: Int
    let peerPort: Int
    let directory: TemporaryDirectory
    private var process: Process?

    static let binary = which("etcd")

    init() async throws {
        clientPort = try await freePort()
        peerPort = try await freePort()
        directory = try TemporaryDirectory("etcd")
        try await start()
    }

    var endpoint: String { "127.0.0.1:\(clientPort)" }

    func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Self.binary))
        process.arguments = [
            "--name", "test", "--data-dir", directory.file("data"),
            "--listen-client-urls", "http://127.0.0.1:\(clientPort)", "--advertise-client-urls", "http://127.0.0.1:\(clientPort)",
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "test=http://127.0.0.1:\(peerPort)", "--log-level", "error",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let curl = try #require(which("curl"))
        let up = await eventually(timeout: .seconds(20)) {
            ((try? await runToEnd(curl, ["-s", "--max-time", "1", "http://127.0.0.1:\(clientPort)/health"]))?.1 ?? "").contains("true")
        }
        #expect(up, "etcd did not start")
    }

    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    deinit {
        kill()
        directory.cleanUp()
    }
}

@Suite("Leader election over etcd", .serialized, .timeLimit(.minutes(3)),
       .enabled(if: Etcd.binary != nil && which("curl") != nil, "etcd is not installed (apt-get install etcd-server)"))
struct EtcdElectionTests {
    let binary = siblingExecutable(named: "kumo-election")

    func candidate(_ etcd: Etcd, _ index: Int) async throws -> ChildProcess {
        try await ChildProcess.launch(
            executable: binary,
            arguments: ["--name", "c\(index)", "--port", "0", "--secret", "etcd-test", "--etcd", etcd.endpoint, "--ttl", "2", "--log-level", "warning"],
            readyPrefix: "kumo-election ready:")
    }

    func leading(_ process: ChildProcess) -> Bool {
        Term.parse(process.outputLines, process: 0).last.map { $0.end == nil } ?? false
    }

    @Test("leaders killed in a loop: never two at once, and every new leader's token is higher")
    func killLeaders() async throws {
        let etcd = try await Etcd()
        var candidates: [ChildProcess] = []
        var all: [ChildProcess] = []
        defer { for process in all { process.kill() } }
        for index in 0..<3 {
            let process = try await candidate(etcd, index)
            candidates.append(process)
            all.append(process)
        }
        var kills: [(process: Int, at: Int64)] = []
        for round in 0..<4 {
            #expect(await eventually(timeout: .seconds(15)) { candidates.contains(where: leading) }, "round \(round): nobody leads")
            #expect(candidates.filter(leading).count == 1, "round \(round): more than one leads")
            guard let leader = candidates.firstIndex(where: leading) else { break }
            let victim = candidates.remove(at: leader)
            victim.kill()
            kills.append((try #require(all.firstIndex { $0 === victim }), nowMillis()))
            _ = await victim.waitForExit()
            let fresh = try await candidate(etcd, 3 + round)
            candidates.append(fresh)
            all.append(fresh)
        }
        #expect(await eventually(timeout: .seconds(15)) { candidates.contains(where: leading) })
        var terms: [Term] = []
        for (index, process) in all.enumerated() {
            var own = Term.parse(process.outputLines, process: index)
            if let kill = kills.first(where: { $0.process == index }), !own.isEmpty, own[own.count - 1].end == nil {
                own[own.count - 1].end = kill.at
            }
            terms += own
        }
        #expect(terms.count >= 5, "\(terms)")
        Term.expectDisjoint(terms)
    }

    @Test("etcd down: the leader is demoted within its lease and nobody leads; etcd back: one leads, with a higher token")
    func etcdDown() async throws {
        let etcd = try await Etcd()
        var all: [ChildProcess] = []
        defer { for process in all { process.kill() } }
        for index in 0..<2 { all.append(try await candidate(etcd, index)) }
        #expect(await eventually(timeout: .seconds(15)) { all.contains(where: leading) })
        let before = try #require(all.compactMap { Term.parse($0.outputLines, process: 0).last }.max { $0.token < $1.token })
        etcd.kill()
        let down = nowMillis()
        #expect(await eventually(timeout: .seconds(4)) { !all.contains(where: leading) }, "a leader kept leading without etcd")
        let demoted = all.compactMap { Term.parse($0.outputLines, process: 0).last?.end }.max() ?? .max
        #expect(demoted - down < 2000, "demoted \(demoted - down) ms after etcd went down; the lease is 2 s")
        try await Task.sleep(for: .seconds(2))
        #expect(!all.contains(where: leading), "elected while etcd is down")
        try await etcd.start()
        #expect(await eventually(timeout: .seconds(15)) { all.contains(where: leading) }, "nobody leads once etcd is back")
        let after = try #require(all.compactMap { Term.parse($0.outputLines, process: 0).last }.max { $0.token < $1.token })
        #expect(after.token > before.token)
        #expect(all.filter(leading).count == 1)
    }
}
