import KumoCore

extension ClusterDaemon {
    /// Creates an actor of a type registered for remote spawning; it lives until its node shuts
    /// down or ``ClusterSystem/release(_:)`` lets it go.
    distributed func spawn(_ typeName: String) throws -> ActorID {
        guard let factory = actorSystem.spawnFactory(typeName) else {
            throw ClusterError(
                .unknownType, "\(typeName) is not registered for remote spawn on node \(myName) \(me)", node: me)
        }
        let (id, actor) = factory(actorSystem)
        spawned[id.path] = actor
        return id
    }

    func release(_ path: ActorID.Path) {
        spawned.removeValue(forKey: path)
    }

    func keep(_ actor: any DistributedActor, at path: ActorID.Path) {
        spawned[path] = actor
    }
}

extension ClusterDaemon {
    /// The port the cluster log is collected on, when this node is the collector.
    distributed func logSendPort() throws -> SendPort<LogLine> {
        guard let logPort else { throw ClusterError(.shuttingDown, "the log collector is not running", node: me) }
        return logPort.0
    }

    func startLogCollector() {
        guard logPort == nil, let channel = try? actorSystem.makeChannel(of: LogLine.self, capacity: 16_384) else { return }
        logPort = channel
        let receive = channel.1
        var logger = actorSystem.logger
        logger[metadataKey: "kumo.actor"] = "kumo.log"
        logCollectorTask = Task.detached { [logger] in
            for await line in receive {
                var metadata: Logger.Metadata = ["kumo.origin.node": "\(line.nodeName) \(line.node)"]
                if let actor = line.actor { metadata["kumo.origin.actor"] = "\(actor)" }
                logger.info("\(line.text)", metadata: metadata)
            }
        }
    }

    /// The collector's log port: the configured collector, or else the up member with the lowest
    /// identity (the same choice on every node once views agree).
    func collectorPort(preferred: NodeAddress?) async throws -> SendPort<LogLine> {
        let collector: NodeID?
        if let preferred {
            collector = membership.alive.first { $0.node.address == preferred }?.node
                ?? (preferred == me.address ? me : nil)
        } else {
            collector = membership.alive.filter { $0.status == .up }.map(\.node).min() ?? me
        }
        guard let collector else {
            throw ClusterError(.nodeUnreachable, "the log collector \(preferred.map { "\($0)" } ?? "") is not a member")
        }
        if let cached = cachedCollectorPort, cached.0 == collector { return cached.1 }
        let port: SendPort<LogLine>
        if collector == me {
            guard let local = logPort?.0 else { throw ClusterError(.shuttingDown, "the log collector is not running", node: me) }
            port = local
        } else {
            port = try await daemon(on: collector).logSendPort()
        }
        cachedCollectorPort = (collector, port)
        return port
    }
}

import Logging
