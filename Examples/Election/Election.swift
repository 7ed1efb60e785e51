import ArgumentParser
import Foundation
import Kumo
import KumoDeploy
import KumoNode

/// Metaparticle's election example, in Swift: every node campaigns; the leader says so every
/// second, with its fencing token. `--etcd HOST:PORT` elects through etcd leases (at most one
/// leader at any instant); without it, the cluster's membership elects (the oldest member).
@main
struct ElectionExample: NodeProgram {
    static let configuration = CommandConfiguration(
        commandName: "kumo-election",
        abstract: "Run one node that campaigns to lead: through etcd (--etcd) or the cluster's membership.",
        discussion: """
            Prints `kumo-election elected: token=N at=MILLIS` when it becomes the leader and \
            `kumo-election demoted: token=N at=MILLIS` when it stops (MILLIS: Unix time in \
            milliseconds), and `kumo-election leading: token=N` every second between them.
            """)
    static let readyLabel = "kumo-election"

    @OptionGroup var options: NodeOptions

    @Option(help: "etcd's client address, HOST:PORT; without it the cluster's membership elects.")
    var etcd: String?

    @Option(help: "With --etcd: the lease, in seconds.")
    var ttl = 5

    @Option(help: "The election's name.")
    var election = "example"

    func validate() throws {
        try options.validate()
        guard ttl >= 1 else { throw ValidationError("--ttl must be at least 1") }
    }

    func setUp(_ system: ClusterSystem) async throws -> [any DistributedActor] {
        let term = Term()
        let election: Election
        if let etcd {
            let backend = try EtcdElection.etcd(endpoint: etcd, ttl: ttl, identity: system.settings.name, logger: system.logger)
            election = Election(name: self.election, backend: backend, onElected: { await term.begin($0) }, onDemoted: { await term.end() })
        } else {
            // This process's node, by its membership: the oldest reachable member leads.
            election = Election(name: self.election, onElected: { await term.begin($0) }, onDemoted: { await term.end() })
        }
        Task { try? await election.run() }
        return []
    }
}

/// The leader's work: a line a second while it leads.
actor Term {
    private var token: FencingToken?
    private var work: Task<Void, Never>?

    func begin(_ token: FencingToken) {
        self.token = token
        say("elected: token=\(token) at=\(Self.millis())")
        work = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if !Task.isCancelled { say("leading: token=\(token)") }
            }
        }
    }

    func end() {
        work?.cancel()
        work = nil
        say("demoted: token=\(token.map { "\($0)" } ?? "-") at=\(Self.millis())")
        token = nil
    }

    private func say(_ line: String) {
        print("kumo-election \(line)")
        fflush(nil)
    }

    static func millis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
