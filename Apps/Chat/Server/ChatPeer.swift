import Kumo

/// A chat server as the other servers reach it: the distributed actor `kumo-chat` on each node.
/// It forwards to the server's ``ChatHub``.
distributed actor ChatPeer {
    typealias ActorSystem = ClusterSystem

    static let actorName = "kumo-chat"

    let hub: ChatHub

    init(hub: ChatHub, actorSystem: ClusterSystem) {
        self.hub = hub
        self.actorSystem = actorSystem
    }

    /// As the names' authority: grants `name` to the server on `server` unless another holds it.
    distributed func claim(_ name: String, for server: NodeID) async -> Bool {
        await hub.grant(name, to: server)
    }

    /// As the names' authority: frees `name` if the server on `server` holds it.
    distributed func release(_ name: String, from server: NodeID) async {
        await hub.free(name, from: server)
    }

    /// Shows an event, the `number`th the server on `server` sent here, to this server's
    /// clients, unless it was shown already (a call made again after its answer was lost).
    distributed func deliver(_ event: ChatEvent, number: UInt64, server: NodeID) async {
        await hub.deliver(event, number: number, from: server)
    }

    /// The names of the clients of the server on `server`, told once when the servers meet.
    distributed func introduce(_ names: [String], server: NodeID) async {
        await hub.learn(names, on: server)
    }

    /// Shows `text` from `sender` to the client `name` of this server; whether it is here.
    distributed func tell(_ name: String, from sender: String, text: String) async -> Bool {
        await hub.tellLocal(name, from: sender, text: text)
    }

    /// Disconnects the client `name` of this server, kicked by `kicker`; whether it is here.
    distributed func kick(_ name: String, by kicker: String) async -> Bool {
        await hub.kickLocal(name, by: kicker)
    }
}
