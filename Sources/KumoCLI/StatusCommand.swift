import ArgumentParser
import Foundation
import Kumo
import Logging

/// `kumo status`: one line per member, as a seed node sees the cluster.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print the cluster's members as a node sees them: name, address, state, reachability."
    )

    @Option(help: "The node to ask, as HOST:PORT.")
    var seed: String

    @Option(help: "The shared cluster secret (or set KUMO_SECRET).")
    var secret: String?

    @Option(help: "Seconds to wait for the node.")
    var timeout: Double = 5

    func run() async throws {
        guard let secret = secret ?? ProcessInfo.processInfo.environment["KUMO_SECRET"], !secret.isEmpty else {
            throw ValidationError("a cluster secret is required: --secret S or KUMO_SECRET")
        }
        guard let address = NodeAddress(parsing: seed) else {
            throw ValidationError("seed '\(seed)' is not HOST:PORT")
        }
        var settings = ClusterSettings(name: "kumo-status", secret: secret)
        settings.membership.enabled = false
        settings.connectTimeout = .milliseconds(Int(timeout * 1000))
        var logger = Logger(label: "kumo")
        logger.logLevel = .critical
        settings.logger = logger
        let system = try await ClusterSystem(settings: settings)
        do {
            let members = try await system.withCallTimeout(.milliseconds(Int(timeout * 1000))) {
                try await system.members(of: address)
            }
            await system.shutdown()
            let nameWidth = max(4, members.map(\.name.count).max() ?? 0)
            let addressWidth = max(7, members.map { "\($0.node.address)".count }.max() ?? 0)
            for member in members {
                print(
                    member.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                        + "\(member.node.address)".padding(toLength: addressWidth, withPad: " ", startingAt: 0) + "  "
                        + "\(member.status)".padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                        + "\(member.reachability)")
            }
        } catch let error as ClusterError {
            await system.shutdown()
            let reason: String
            switch error.code {
            case .authenticationFailed: reason = "authentication failed (is the secret right?)"
            case .nodeUnreachable, .connectionLost: reason = "cannot reach it"
            case .timeout: reason = "it did not answer within \(timeout) s"
            default: reason = error.message
            }
            throw StatusFailure(message: "kumo status: \(seed): \(reason)")
        }
    }
}

struct StatusFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
