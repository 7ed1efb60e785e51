import KumoCore
import Logging

/// The cluster log on every node, the system actor `kumo.log`: lines said on any node
/// (``ClusterSystem/say(_:from:)``) go to one collector, which writes them through its logger
/// tagged with the node and actor that said them.
///
/// The collector is ``ClusterSettings/logCollector`` or else the up member with the lowest
/// identity (full members before clients), the same choice on every node once views agree.
distributed actor ClusterLog {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo.log"

    nonisolated var unownedExecutor: UnownedSerialExecutor {
        actorSystem.executor.asUnownedSerialExecutor()
    }

    private let me: NodeID
    private var view = MembershipView()
    private var channel: (SendPort<LogLine>, ReceivePort<LogLine>)?
    private var writer: Task<Void, Never>?
    private var follower: Task<Void, Never>?
    private var cachedCollector: (NodeID, SendPort<LogLine>)?

    init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
        self.me = actorSystem.node
    }

    /// Opens this node's collecting port and follows the membership.
    func start() async throws {
        let channel = try actorSystem.makeChannel(of: LogLine.self, capacity: 16_384)
        self.channel = channel
        var logger = actorSystem.logger
        logger[metadataKey: "kumo.actor"] = "\(Self.actorName)"
        let receive = channel.1
        writer = Task.detached { [logger] in
            for await line in receive {
                var metadata: Logger.Metadata = ["kumo.origin.node": "\(line.nodeName) \(line.node)"]
                if let actor = line.actor { metadata["kumo.origin.actor"] = "\(actor)" }
                logger.info("\(line.text)", metadata: metadata)
            }
        }
        follower = await actorSystem.followMembership { [weak self] event in await self?.whenLocal { $0.apply(event) } }
    }

    func stop() {
        follower?.cancel()
        writer?.cancel()
        channel?.1.close()
    }

    private func apply(_ event: MembershipEvent) {
        view.apply(event)
    }

    /// The port the cluster log is collected on, when this node is the collector.
    distributed func logSendPort() throws -> SendPort<LogLine> {
        guard let channel else { throw ClusterError(.shuttingDown, "the log collector is not running", node: me) }
        return channel.0
    }

    /// The collector's port (see the type's documentation).
    func collectorPort(preferred: NodeAddress?) async throws -> SendPort<LogLine> {
        let collector: NodeID?
        if let preferred {
            collector = view.alive.first { $0.node.address == preferred }?.node ?? (preferred == me.address ? me : nil)
        } else {
            let up = view.alive.filter { $0.status == .up }
            let members = up.filter { $0.role == .member }
            collector = (members.isEmpty ? up : members).map(\.node).min() ?? me
        }
        guard let collector else {
            throw ClusterError(.nodeUnreachable, "the log collector \(preferred.map { "\($0)" } ?? "") is not a member", node: me)
        }
        if let cached = cachedCollector, cached.0 == collector { return cached.1 }
        let port: SendPort<LogLine>
        if collector == me {
            port = try logSendPort()
        } else {
            port = try await ClusterLog.resolve(id: .named(Self.actorName, on: collector), using: actorSystem).logSendPort()
        }
        cachedCollector = (collector, port)
        return port
    }
}
