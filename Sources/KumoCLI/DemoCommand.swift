import Foundation
import ArgumentParser
import Kumo
import KumoCRDT
import KumoExamples
import KumoJobs
import KumoTestKit
import Logging

/// `kumo demo`: a three-node cluster on loopback — two `kumo node` processes and this one —
/// showing what the runtime does, step by step.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a local three-node cluster on loopback and show remote calls between the nodes."
    )

    @Option(help: "Log level of the demo's own node.")
    var logLevel: String = "error"

    func run() async throws {
        let secret = "demo-" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let kumo = siblingExecutable(named: "kumo", override: "KUMO_BINARY")
        let clock = ContinuousClock()

        section("Starting a local cluster: two `kumo node` processes and this process")
        var children: [String: ChildProcess] = [:]
        var seed: String?
        for name in ["alpha", "beta"] {
            let child = try await ChildProcess.launch(
                executable: kumo,
                arguments: ["node", "--name", name, "--port", "0", "--secret", secret, "--log-level", "error"]
                    + (seed.map { ["--seed", $0] } ?? []),
                readyPrefix: "kumo node ready: ")
            children[name] = child
            seed = seed ?? child.readyLine.split(separator: " ").first { $0.hasPrefix("address=") }
                .map { String($0.dropFirst("address=".count)) }
            say("started \(name) (pid \(child.pid)): \(child.readyLine)")
        }
        defer { for child in children.values { child.kill() } }

        var settings = ClusterSettings(name: "conductor", secret: secret)
        settings.seeds = seed.flatMap { NodeAddress(parsing: $0) }.map { [$0] } ?? []
        var logger = Logger(label: "kumo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .error
        settings.logger = logger
        settings.plugins.install(exampleJobs())
        settings.plugins.install(Replication())
        let faults = FaultInjector()
        settings.faults = faults
        let system = try await ClusterSystem(settings: settings)
        say("started conductor (this process) on \(system.node.address)")

        var greeters: [String: Greeter] = [:]
        var recorders: [String: Recorder] = [:]
        var visitors: [String: Visitor] = [:]
        for (name, child) in children.sorted(by: { $0.key < $1.key }) {
            guard let address = child.readyLine.split(separator: " ").first(where: { $0.hasPrefix("address=") })
                .flatMap({ NodeAddress(parsing: $0.dropFirst("address=".count)) })
            else { throw ValidationError("cannot read the address of \(name) from '\(child.readyLine)'") }
            let start = clock.now
            let peer = try await system.connect(to: address)
            say("connected to \(name) at \(peer) — handshake with HMAC challenge–response in \(format(clock.now - start))")
            greeters[name] = try Greeter.resolve(id: .named("greeter", on: peer), using: system)
            recorders[name] = try Recorder.resolve(id: .named("recorder", on: peer), using: system)
            visitors[name] = try Visitor.resolve(id: .named("visitor", on: peer), using: system)
        }
        guard let alpha = greeters["alpha"], let beta = greeters["beta"], let alphaRecorder = recorders["alpha"],
              let betaRecorder = recorders["beta"]
        else { throw ValidationError("the cluster did not start") }

        section("Membership: the three nodes agree, by gossip")
        let joined = clock.now
        try await system.waitForMembers(3, timeout: .seconds(20))
        say("all three nodes up in \(format(clock.now - joined)):")
        for member in await system.members() { say("  \(member.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(member.node.address)  \(member.status)  \(member.reachability)") }

        section("Remote calls of distributed funcs")
        for (name, greeter) in [("alpha", alpha), ("beta", beta)] {
            let start = clock.now
            let reply = try await greeter.greet("Kumo")
            say("\(name).greet(\"Kumo\") → \"\(reply)\" in \(format(clock.now - start))")
        }
        let start = clock.now
        for value in 0..<1000 { try await alphaRecorder.record(value) }
        let elapsed = clock.now - start
        let recorded = try await alphaRecorder.recorded()
        say("1,000 sequential calls to alpha.record(_:) in \(format(elapsed)) (\(format(elapsed / 1000)) each); in order: \(recorded == Array(0..<1000))")
        let generic: [String: [Int]] = try await betaRecorder.echo(["primes": [2, 3, 5, 7], "empty": []])
        say("beta.echo(_:) of a generic [String: [Int]] → \(generic.sorted { $0.key < $1.key })")

        section("Errors thrown remotely come back with their type, message and node")
        do {
            _ = try await alpha.fail("out of coffee")
        } catch let error as GreeterError {
            say("alpha.fail(_:) threw \(type(of: error)): \(error)")
        }

        section("Deadlines")
        do {
            _ = try await system.withCallTimeout(.milliseconds(100)) {
                try await beta.sleep(milliseconds: 2000)
            }
        } catch let error as ClusterError {
            say("beta.sleep(2000 ms) with a 100 ms deadline → \(error.code): \(error.message)")
        }

        section("A typed channel: beta streams one-way messages to a port on this node")
        let (sendPort, receivePort) = try system.makeChannel(of: Int.self)
        try await betaRecorder.stream(count: 10_000, to: sendPort)
        var received: [Int] = []
        for await value in receivePort {
            received.append(value)
            if received.count == 10_000 { break }
        }
        say("received \(received.count) messages from beta, in order: \(received == Array(0..<10_000))")

        section("A large argument is sent in chunks while small calls keep flowing")
        let big = [UInt8](repeating: 7, count: 32 << 20)
        let bulkStart = clock.now
        async let counted = alphaRecorder.count(big)
        var smallCalls = 0
        var slowest = Duration.zero
        while clock.now - bulkStart < .milliseconds(30) || smallCalls < 5 {
            let callStart = clock.now
            _ = try await alpha.greetings()
            slowest = max(slowest, clock.now - callStart)
            smallCalls += 1
            if smallCalls > 100_000 { break }
        }
        let count = try await counted
        say("alpha counted \(count) bytes (32 MiB) in \(format(clock.now - bulkStart)); \(smallCalls) small calls meanwhile, slowest \(format(slowest))")

        section("Jobs: a @Job function fanned out over the three nodes")
        try await Jobs.waitForWorkers(3, on: system)
        try await Jobs.withCluster(system) {
            let one = try await renderTileRemote(7)
            say("renderTileRemote(7) → \(one), run on the node the least-loaded placement chose")
            let tiles = Array(0..<1200)
            let progress = FanoutProgress()
            let bar = Task { await drawProgress(progress) }
            let fanoutStart = clock.now
            let checksums = try await renderTileRemoteFanout(tiles, options: FanoutOptions(progress: progress))
            await bar.value
            let expected = try await renderTileLocal(1199)
            say("rendered \(checksums.count) tiles over 3 nodes (at most 8 at once on each) in \(format(clock.now - fanoutStart)); in order: \(checksums.last == expected)")
        }

        section("Replicated state: three nodes change one counter and one cart, with no lock and no leader")
        try await showReplication(system: system, faults: faults, visitors: visitors, clock: clock)

        section("A node dies: calls to it fail fast, and the cluster marks it down")
        let betaNode = beta.id.node
        let watch = await system.watch(node: betaNode)
        let killed = clock.now
        children["beta"]?.kill()
        _ = await children["beta"]?.waitForExit(timeout: .seconds(5))
        let failStart = clock.now
        do {
            _ = try await beta.greet("anyone there?")
            say("unexpected: beta answered after SIGKILL")
        } catch let error as ClusterError {
            say("beta was killed (SIGKILL); beta.greet(_:) failed in \(format(clock.now - failStart)) with \(error.code): \(error.message)")
        }
        if let reason = await watch.reason {
            say("the watch on beta fired after \(format(clock.now - killed)): \(reason)")
        }
        for member in await system.members() { say("  \(member.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(member.node.address)  \(member.status)  \(member.reachability)") }

        section("A node with the wrong secret can call nothing")
        var intruderSettings = ClusterSettings(name: "intruder", secret: "not-the-secret")
        intruderSettings.logger = logger
        let intruder = try await ClusterSystem(settings: intruderSettings)
        do {
            let peer = try await intruder.connect(to: alpha.id.node.address)
            say("unexpected: the intruder connected to \(peer)")
        } catch let error as ClusterError {
            say("intruder → alpha refused: \(error.code): \(error.message)")
        }
        await intruder.shutdown()

        section("Graceful shutdown")
        await system.shutdown()
        children["alpha"]?.terminate()
        let status = await children["alpha"]?.waitForExit(timeout: .seconds(10))
        say("alpha got SIGTERM and exited with status \(status.map(String.init) ?? "?")")
        say("demo finished")
    }
}

/// Every node counts visits and fills a cart at once; they converge. Then this node is cut off,
/// both sides go on changing, and after the heal they converge again.
private func showReplication(
    system: ClusterSystem, faults: FaultInjector, visitors: [String: Visitor], clock: ContinuousClock
) async throws {
    let visits = try system.replicated(PNCounter.self, key: Visitor.visitsKey)
    let cart = try system.replicated(ORMap<String, PNCounter>.self, key: Visitor.cartKey)
    let others = visitors.sorted { $0.key < $1.key }
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (_, visitor) in others { group.addTask { try await visitor.visit(times: 1000) } }
        group.addTask { for _ in 0..<1000 { try await visits.update { $0.increment() } } }
        try await group.waitForAll()
    }
    try await others[0].value.addToCart("apples", count: 2)
    try await others[1].value.addToCart("pears", count: 3)
    try await cart.update { $0.update("apples") { $0.increment() } }
    let converged = try await waitForAgreement(system: system, visitors: others.map(\.value), clock: clock)
    say("3,000 increments (1,000 on each node) and three cart changes; every node sees \(converged) after \(format(clock.now - start))")

    // This node hears nothing from the others for a while; alpha counts visits meanwhile.
    try await others[0].value.visit(times: 25, after: 100)
    faults.partition([system.node.address], from: others.map { $0.value.id.node.address })
    try await visits.update { $0.increment(by: 50) }
    try await Task.sleep(for: .milliseconds(800))
    let mine = try await VisitorView(on: system)
    say("cut off from alpha and beta for 0.8 s: this node counted 50 visits and sees \(mine.visits); alpha counted 25 meanwhile, which it cannot hear")
    faults.heal()
    let healed = clock.now
    let after = try await waitForAgreement(system: system, visitors: others.map(\.value), clock: clock)
    say("healed: every node sees \(after) after \(format(clock.now - healed))")
}

/// Waits until this node and every visitor's node see the same state; returns it.
private func waitForAgreement(system: ClusterSystem, visitors: [Visitor], clock: ContinuousClock) async throws -> VisitorView {
    let end = clock.now + .seconds(20)
    while true {
        let mine = try await VisitorView(on: system)
        var agreed = true
        for visitor in visitors where agreed { agreed = try await visitor.view() == mine }
        if agreed || clock.now > end { return mine }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Draws a fan-out's progress: one bar redrawn in place on a terminal, a line per quarter
/// otherwise.
private func drawProgress(_ progress: FanoutProgress) async {
    let terminal = isatty(STDOUT_FILENO) == 1
    var quarter = 0
    var last: FanoutProgress.Snapshot?
    for await snapshot in progress.updates {
        last = snapshot
        if terminal {
            let width = 40
            let filled = Int(snapshot.fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            print("\r\u{1B}[2K  \(bar) \(snapshot.completed + snapshot.failed)/\(snapshot.total)", terminator: "")
            fflush(nil)
        } else if Int(snapshot.fraction * 4) > quarter || snapshot.isFinished {
            quarter = Int(snapshot.fraction * 4)
            say("progress: \(snapshot)")
        }
    }
    if terminal, last != nil { print("") }
}

private func section(_ title: String) {
    print("\n== \(title)")
}

private func say(_ line: String) {
    print("  ✓ \(line)")
    fflush(nil)
}

private func format(_ duration: Duration) -> String {
    let micros = Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    if micros < 1000 { return String(format: "%.0f µs", micros) }
    if micros < 1_000_000 { return String(format: "%.1f ms", micros / 1000) }
    return String(format: "%.2f s", micros / 1_000_000)
}
