import Kumo
import Logging
import NIOCore

/// One chat server's state and logic: its clients' sessions, the directory of every client in
/// the cluster, and, on the server that is the names' authority, the claims.
///
/// There is no master: every server accepts clients and shows every message. Names are unique
/// cluster-wide because one server, the oldest up member that runs the chat, decides every
/// claim; when it dies the next oldest decides, checking the directory every server keeps.
/// Events from one server reach each other server in the order it sent them.
actor ChatHub {
    /// A client's connection, to write lines to and close.
    struct Link: Sendable {
        var id: UInt64
        var channel: any Channel
    }

    private struct Client {
        var session = ChatSession()
        var link: Link
        /// The name it holds here, once granted.
        var name: String?
        /// It was disconnected for not reading what it is sent.
        var droppedSlow = false
    }

    private let system: ClusterSystem
    private let logger: Logger
    private let lineLimit: Int
    private var clients: [UInt64: Client] = [:]
    /// Chatting clients of this server, by name.
    private var local: [String: UInt64] = [:]
    /// Names being claimed by this server's clients now.
    private var pending: Set<String> = []
    /// Every client in the cluster, and the node of its server.
    private var directory: [String: NodeID] = [:]
    /// As the names' authority: the names granted, and to which server.
    private var claims: [String: NodeID] = [:]
    /// The other chat servers, each with its outbox (events in order).
    private var peers: [NodeID: Outbox] = [:]
    /// For each other server, the number of the last of its events shown here: an event sent
    /// again (its answer was lost) is shown once.
    private var delivered: [NodeID: UInt64] = [:]
    private var watchers: [Task<Void, Never>] = []

    init(system: ClusterSystem, lineLimit: Int) {
        self.system = system
        self.lineLimit = lineLimit
        var logger = system.logger
        logger[metadataKey: "kumo.app"] = "chat"
        self.logger = logger
    }

    private var me: NodeID { system.node }

    /// The chat servers known, this one included.
    var serverCount: Int { peers.count + 1 }

    /// Follows the other chat servers (the registry's `kumo-chat` listing) and the membership
    /// (a server that leaves or dies takes its clients with it).
    func start() {
        watchers.append(Task { [system] in
            for await ids in await system.listing(ChatPeer.actorName) {
                self.peersChanged(Set(ids.map(\.node)))
            }
        })
        watchers.append(Task { [system] in
            for await event in await system.membershipEvents() {
                guard case .statusChanged(let member, _) = event, member.status >= .leaving else { continue }
                self.serverGone(member.node)
            }
        })
    }

    func stop() {
        for watcher in watchers { watcher.cancel() }
        for outbox in peers.values { outbox.close() }
        peers = [:]
        for client in clients.values { client.link.channel.close(promise: nil) }
    }

    // MARK: Clients

    func connected(_ link: Link) {
        let client = Client(link: link)
        clients[link.id] = client
        write(client.session.started(), to: link.id)
    }

    func received(_ line: ClientLine, from id: UInt64) async {
        guard clients[id] != nil else { return }
        switch line {
        case .text(let text):
            guard let actions = clients[id]?.session.received(text) else { return }
            await perform(actions, for: id)
        case .tooLong:
            send(ChatText.lineTooLong(lineLimit), to: id)
        case .invalidUTF8:
            send(ChatText.invalidUTF8, to: id)
        }
    }

    func closed(_ id: UInt64) {
        guard let client = clients.removeValue(forKey: id) else { return }
        guard let name = client.name, local[name] == id else { return }
        local.removeValue(forKey: name)
        broadcast(.disconnected(name, server: me))
        Task { await self.releaseAtAuthority(name) }
    }

    private func perform(_ actions: [ChatSession.Action], for id: UInt64) async {
        for action in actions {
            guard let client = clients[id] else { return }
            switch action {
            case .send(let line):
                send(line, to: id)
            case .claim(let name):
                let granted = await claim(name)
                guard clients[id] != nil else {
                    // Gone while its name was claimed: the name goes back.
                    if granted == true { Task { await self.releaseAtAuthority(name) } }
                    return
                }
                if granted == true {
                    local[name] = id
                    clients[id]?.name = name
                    broadcast(.connected(name, server: me))
                }
                guard let next = clients[id]?.session.claimed(granted) else { return }
                await perform(next, for: id)
            case .say(let text):
                guard let name = client.session.name else { continue }
                broadcast(.message(from: name, text: text))
            case .tell(let target, let text):
                guard let name = client.session.name else { continue }
                if await !tell(target, from: name, text: text) { send(ChatText.notConnected(target), to: id) }
            case .kick(let target):
                guard let name = client.session.name else { continue }
                if await kick(target, by: name) {
                    send(ChatText.youKicked(target), to: id)
                } else {
                    send(ChatText.notConnected(target), to: id)
                }
            case .quit:
                clients[id]?.session.close()
                client.link.channel.close(promise: nil)
            }
        }
    }

    private func write(_ actions: [ChatSession.Action], to id: UInt64) {
        for case .send(let line) in actions { send(line, to: id) }
    }

    private func send(_ line: String, to id: UInt64) {
        guard let channel = clients[id]?.link.channel else { return }
        guard channel.isWritable else {
            // More than `ChatServer.sendQueueLimit` bytes wait for this client: it does not keep
            // up, and keeping all it missed would let one idle socket fill the server's memory.
            // It goes (its closing tells the others it disconnected); nobody else waits for it.
            if clients[id]?.droppedSlow == false {
                clients[id]?.droppedSlow = true
                logger.notice(
                    "disconnecting a client that does not read what it is sent",
                    metadata: ["chat.client": "\(id)", "chat.name": "\(clients[id]?.name ?? "-")"])
                channel.close(promise: nil)
            }
            return
        }
        channel.writeAndFlush(ByteBuffer(string: line + "\n"), promise: nil)
    }

    /// Every chatting client of this server.
    private func show(_ line: String) {
        for id in local.values { send(line, to: id) }
    }

    // MARK: Names

    /// Claims `name` for a client of this server: `nil` when no authority could be asked.
    private func claim(_ name: String) async -> Bool? {
        guard directory[name] == nil, local[name] == nil, !pending.contains(name) else { return false }
        pending.insert(name)
        defer { pending.remove(name) }
        for attempt in 0..<3 {
            guard let authority = await authority() else { return nil }
            if authority == me { return grant(name, to: me) }
            do {
                let peer = try ChatPeer.resolve(id: .named(ChatPeer.actorName, on: authority), using: system)
                return try await system.withCallTimeout(.seconds(2)) { try await peer.claim(name, for: me) }
            } catch {
                logger.debug("the names' authority did not answer", metadata: ["kumo.node": "\(authority)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        return nil
    }

    private func releaseAtAuthority(_ name: String) async {
        guard let authority = await authority() else { return }
        if authority == me { return free(name, from: me) }
        let peer = try? ChatPeer.resolve(id: .named(ChatPeer.actorName, on: authority), using: system)
        try? await system.withCallTimeout(.seconds(2)) { try await peer?.release(name, from: me) }
    }

    /// The server that decides claims: the oldest up member that runs the chat.
    private func authority() async -> NodeID? {
        let chat = Set(peers.keys).union([me])
        return await system.members()
            .filter { $0.status == .up && chat.contains($0.node) }
            .min { ($0.upNumber, $0.node.description) < ($1.upNumber, $1.node.description) }?
            .node
    }

    /// As the authority: grants `name` to `server` unless another server holds it.
    func grant(_ name: String, to server: NodeID) -> Bool {
        if let owner = claims[name] ?? directory[name], owner != server { return false }
        if server != me, local[name] != nil || pending.contains(name) { return false }
        claims[name] = server
        return true
    }

    func free(_ name: String, from server: NodeID) {
        if claims[name] == server { claims.removeValue(forKey: name) }
    }

    // MARK: Events

    private func broadcast(_ event: ChatEvent) {
        apply(event)
        for outbox in peers.values { outbox.events.yield(event) }
    }

    /// An event of the server on `server`, the `number`th it sent here: shown unless it was
    /// already.
    func deliver(_ event: ChatEvent, number: UInt64, from server: NodeID) {
        guard !gone.contains(server), number > delivered[server, default: 0] else { return }
        delivered[server] = number
        apply(event)
    }

    func apply(_ event: ChatEvent) {
        switch event {
        case .connected(let name, let server):
            // A server whose clients connect is a chat server, whatever the registry says yet.
            addPeer(server)
            directory[name] = server
            show(ChatText.connected(name))
        case .disconnected(let name, let server):
            guard directory[name] == server else { return }
            directory.removeValue(forKey: name)
            if claims[name] == server { claims.removeValue(forKey: name) }
            show(ChatText.disconnected(name))
        case .message(let name, let text):
            show(ChatText.broadcast(from: name, text))
        }
    }

    /// Another server's clients, told when the two servers meet: to this server's clients they
    /// have just connected (a server that started late, or a partition that healed).
    func learn(_ names: [String], on server: NodeID) {
        // It is a chat server, whatever the registry says yet: what is said here from now on
        // reaches it.
        addPeer(server)
        for name in names.sorted() where directory[name] == nil {
            directory[name] = server
            if claims[name] == nil { claims[name] = server }
            show(ChatText.connected(name))
        }
    }

    /// A server left or died: its clients are gone, for everyone here to see.
    private func serverGone(_ node: NodeID) {
        gone.insert(node)
        delivered.removeValue(forKey: node)
        peers.removeValue(forKey: node)?.close()
        for (name, owner) in claims where owner == node { claims.removeValue(forKey: name) }
        for (name, server) in directory.sorted(by: { $0.key < $1.key }) where server == node {
            directory.removeValue(forKey: name)
            show(ChatText.disconnected(name))
        }
    }

    private func peersChanged(_ nodes: Set<NodeID>) {
        for node in nodes { addPeer(node) }
    }

    /// Starts the outbox to the chat server on `node`, introducing this server's clients first.
    private func addPeer(_ node: NodeID) {
        guard node != me, peers[node] == nil, !gone.contains(node) else { return }
        let (events, continuation) = AsyncStream<ChatEvent>.makeStream()
        let names = Array(local.keys)
        let system = system
        let me = me
        let logger = logger
        // One task per peer: events reach it in the order they were sent, each until it is
        // answered (a call that fails is made again; the peer shows an event once), until the
        // server on `node` is gone.
        // The outbox outlives whatever call made this server meet the peer (an event or an
        // introduction from it): it must not inherit that call's deadline.
        let sender = Task {
            await ClusterSystem.withoutCallContext {
                guard let peer = try? ChatPeer.resolve(id: .named(ChatPeer.actorName, on: node), using: system) else { return }
                await Self.untilAnswered(logger: logger, node: node) { try await peer.introduce(names, server: me) }
                var number: UInt64 = 0
                for await event in events {
                    number += 1
                    await Self.untilAnswered(logger: logger, node: node) { [number] in
                        try await peer.deliver(event, number: number, server: me)
                    }
                }
            }
        }
        peers[node] = Outbox(events: continuation, sender: sender)
    }

    /// Makes `call` until it returns, waiting a little more after each failure; stops when
    /// the task is cancelled (the peer is gone).
    private static func untilAnswered(logger: Logger, node: NodeID, _ call: () async throws -> Void) async {
        var pause = Duration.milliseconds(50)
        var failures = 0
        while !Task.isCancelled {
            do {
                return try await call()
            } catch {
                failures += 1
                // A peer that stays silent is worth a warning: its clients miss what is said.
                logger.log(
                    level: failures == 5 ? .warning : .debug, "a chat server did not answer; telling it again",
                    metadata: ["kumo.node": "\(node)", "error": "\(error)", "attempts": "\(failures)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    /// The events on their way to one other server, and the task that sends them.
    private struct Outbox {
        var events: AsyncStream<ChatEvent>.Continuation
        var sender: Task<Void, Never>

        func close() {
            events.finish()
            sender.cancel()
        }
    }

    /// Servers that left or died: a late word from them does not bring them back.
    private var gone: Set<NodeID> = []

    // MARK: Tell and kick

    private func tell(_ target: String, from sender: String, text: String) async -> Bool {
        if tellLocal(target, from: sender, text: text) { return true }
        guard let node = directory[target], node != me,
            let peer = try? ChatPeer.resolve(id: .named(ChatPeer.actorName, on: node), using: system)
        else { return false }
        return (try? await system.withCallTimeout(.seconds(2)) { try await peer.tell(target, from: sender, text: text) }) ?? false
    }

    func tellLocal(_ target: String, from sender: String, text: String) -> Bool {
        guard let id = local[target] else { return false }
        send(ChatText.tell(from: sender, text), to: id)
        return true
    }

    private func kick(_ target: String, by kicker: String) async -> Bool {
        if kickLocal(target, by: kicker) { return true }
        guard let node = directory[target], node != me,
            let peer = try? ChatPeer.resolve(id: .named(ChatPeer.actorName, on: node), using: system)
        else { return false }
        return (try? await system.withCallTimeout(.seconds(2)) { try await peer.kick(target, by: kicker) }) ?? false
    }

    func kickLocal(_ target: String, by kicker: String) -> Bool {
        guard let id = local[target], let channel = clients[id]?.link.channel else { return false }
        clients[id]?.session.close()
        channel.writeAndFlush(ByteBuffer(string: ChatText.kicked(by: kicker) + "\n")).whenComplete { _ in
            channel.close(promise: nil)
        }
        return true
    }
}
