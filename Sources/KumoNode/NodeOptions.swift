import ArgumentParser
import Kumo
import Logging

/// The command-line flags of a cluster node: `kumo node`, `kumo control`, and every program that
/// embeds a ``NodeProgram``.
///
/// Include them in a command with `@OptionGroup var options: NodeOptions`; ``settings(defaultName:)``
/// turns them into the node's ``ClusterSettings``.
public struct NodeOptions: ParsableArguments {
    /// `--name`: the node's name (default: the command's `defaultName`).
    @Option(help: "The node's name.")
    public var name: String?

    /// `--host`: the address to listen on.
    @Option(help: "The address to listen on.")
    public var host: String = "127.0.0.1"

    /// `--port`: the port to listen on; 0 picks a free one.
    @Option(help: "The port to listen on (0 picks a free one).")
    public var port: Int = 7000

    /// `--advertise-host`: the host other nodes reach this one at, when it listens on `0.0.0.0`
    /// (in a Kubernetes pod, the pod's IP); when absent, `KUMO_ADVERTISE_HOST`, else `--host`.
    @Option(help: "The host other nodes reach this one at, when --host is 0.0.0.0 (or set KUMO_ADVERTISE_HOST; in Kubernetes, the pod's IP).")
    public var advertiseHost: String?

    /// `--seed HOST:PORT` (repeatable): the seeds or control nodes to join through.
    @Option(name: .customLong("seed"), help: "A seed or control node to join through, as HOST:PORT (repeatable).")
    public var seeds: [String] = []

    /// `--dns NAME:PORT`: join the nodes a DNS name resolves to.
    @Option(help: "Join the nodes a DNS name resolves to (a Kubernetes headless service), as NAME:PORT.")
    public var dns: String?

    /// `--hosts-file PATH`: resolve `--dns` through a file in the hosts format instead of the
    /// system's resolver (to try Kubernetes-style discovery on one machine).
    @Option(help: "Resolve --dns through this file in the format of /etc/hosts, read again on every lookup.")
    public var hostsFile: String?

    /// `--health-port`: serve `/healthz`, `/readyz` and `/leave` over HTTP on this port
    /// (``HealthEndpoint``), on `--host`.
    @Option(help: "Serve the node's health over HTTP on this port: /healthz, /readyz, /leave (for Kubernetes' probes and preStop hook).")
    public var healthPort: Int?

    /// `--multicast`: find other nodes by UDP multicast on the local network.
    @Flag(help: "Find other nodes by UDP multicast on the local network.")
    public var multicast = false

    /// `--secret`: the shared cluster secret; when absent, the environment variable `KUMO_SECRET`.
    @Option(help: "The shared cluster secret (or set KUMO_SECRET).")
    public var secret: String?

    /// `--role member|client`: the node's role (``NodeRole``).
    @Option(help: "The node's role: member (counts in majority decisions) or client (a driver or tool whose crash costs the cluster nothing).")
    public var role: String = "member"

    /// `--downing-timeout SECONDS`: how long a member may stay unreachable before it is downed.
    @Option(help: "Seconds a member may stay unreachable before it is downed (default 4).")
    public var downingTimeout: Double?

    /// `--log-level`: the level of the node's logger.
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String = "info"

    /// `--socket-buffer-kib`: ``ClusterSettings/socketBufferSize`` in KiB; 0 leaves it to the kernel.
    @Option(name: .customLong("socket-buffer-kib"), help: "Kernel send and receive buffer per connection, in KiB, or 0 for the kernel's autotuning (default 256).")
    public var socketBufferKiB: Int?

    /// `--busy-poll-microseconds`: ``ClusterSettings/busyPollWindow``.
    @Option(help: "Microseconds the event loop stays awake after a read before it sleeps (default 60; 0: off).")
    public var busyPollMicroseconds: Int?

    /// `--message-batching-microseconds`: ``ClusterSettings/messageBatchingDelay``.
    @Option(help: "Microseconds a stream of one-way messages may wait to share a write (default 400).")
    public var messageBatchingMicroseconds: Int?

    /// `--call-flush-threshold`: ``ClusterSettings/callFlushThreshold``.
    @Option(help: "Calls and replies made on the event loop that are written at once, without waiting for the loop's turn to end (default 16).")
    public var callFlushThreshold: Int?

    public init() {}

    /// Checks the flags when the command line is parsed, so that a bad flag is reported with the
    /// command's usage and exit status 64 before any node starts.
    public func validate() throws {
        _ = try settings(defaultName: "node")
    }

    /// The node's settings: these flags over ``ClusterSettings``' defaults, named `defaultName`
    /// unless `--name` is given, with a logger labelled `kumo` at `--log-level`.
    /// - Throws: `ValidationError` when there is no secret or a flag's value is malformed.
    public func settings(defaultName: String) throws -> ClusterSettings {
        guard let secret = secret ?? environment("KUMO_SECRET"), !secret.isEmpty else {
            throw ValidationError("a cluster secret is required: --secret S or KUMO_SECRET")
        }
        var settings = ClusterSettings(name: name ?? defaultName, secret: secret)
        settings.host = host
        settings.port = port
        if let advertised = advertiseHost ?? environment("KUMO_ADVERTISE_HOST"), !advertised.isEmpty {
            settings.advertisedHost = advertised
        } else if host == "0.0.0.0" || host == "::" {
            throw ValidationError("a node listening on \(host) needs --advertise-host (or KUMO_ADVERTISE_HOST): the address other nodes reach it at")
        }
        if let healthPort, !(0...65535).contains(healthPort) {
            throw ValidationError("--health-port must be between 0 and 65535, not \(healthPort)")
        }
        guard let role = NodeRole(named: role) else { throw ValidationError("--role must be member or client, not '\(role)'") }
        settings.role = role
        if let downingTimeout {
            guard downingTimeout > 0, downingTimeout <= 3600 else {
                throw ValidationError("--downing-timeout must be between 0 and 3600 seconds")
            }
            settings.membership.downing = .keepMajority(after: .milliseconds(Int64(downingTimeout * 1000)))
        }
        for seed in seeds {
            guard let address = NodeAddress(parsing: seed) else { throw ValidationError("seed '\(seed)' is not HOST:PORT") }
            settings.seeds.append(address)
        }
        if let dns {
            guard let address = NodeAddress(parsing: dns) else { throw ValidationError("--dns '\(dns)' is not NAME:PORT") }
            let resolver = hostsFile.map { DNSResolver.hostsFile($0) } ?? .system
            settings.discovery = settings.discovery.and(.dns(address.host, port: address.port, resolver: resolver))
        } else if hostsFile != nil {
            throw ValidationError("--hosts-file resolves the name of --dns, which is missing")
        }
        if multicast { settings.discovery = settings.discovery.and(.multicast()) }
        if let socketBufferKiB {
            guard socketBufferKiB >= 0 else { throw ValidationError("--socket-buffer-kib must not be negative") }
            settings.socketBufferSize = socketBufferKiB == 0 ? nil : socketBufferKiB << 10
        }
        if let busyPollMicroseconds { settings.busyPollWindow = .microseconds(busyPollMicroseconds) }
        if let messageBatchingMicroseconds { settings.messageBatchingDelay = .microseconds(messageBatchingMicroseconds) }
        if let callFlushThreshold { settings.callFlushThreshold = callFlushThreshold }
        var logger = Logger(label: "kumo")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        settings.logger = logger
        return settings
    }
}
