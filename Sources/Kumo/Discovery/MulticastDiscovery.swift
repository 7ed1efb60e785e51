import Crypto
import KumoCore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Finds nodes on the local network by UDP multicast, as Cloud Haskell's `findPeers` does: every
/// node announces its address to a group and listens for the others' announcements.
///
/// An announcement carries a tag derived from the cluster secret (an HMAC, not the secret), so
/// clusters sharing a network do not mix. What it finds only feeds the join: the handshake still
/// authenticates every peer.
public final class MulticastDiscovery: Sendable {
    /// Where and how often nodes announce themselves.
    public struct Configuration: Sendable {
        /// The multicast group. Default `239.255.27.1`.
        public var group: String = "239.255.27.1"
        /// The UDP port. Default 7946.
        public var port: Int = 7946
        /// The local interface address to join the group on; `nil` lets the system choose.
        public var interface: String?
        /// How often a node announces itself. Default 1 s.
        public var interval: Duration = .seconds(1)
        /// How long an announcement is remembered. Default 10 s.
        public var expiry: Duration = .seconds(10)

        public init() {}
    }

    private let configuration: Configuration
    private let channel: any Channel
    private let groupAddress: SocketAddress
    private let announcement: ByteBuffer
    private let tag: String
    private let own: NodeAddress
    private let heard = AnnouncementBook()
    private let timer = Mutex<RepeatedTask?>(nil)

    /// Joins the group and starts announcing `node`.
    init(configuration: Configuration, node: NodeAddress, secret: String, eventLoop: any EventLoop, logger: Logger) async throws {
        self.configuration = configuration
        self.own = node
        let key = SymmetricKey(data: SHA256.hash(data: Array(secret.utf8)))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("kumo/v1/discovery".utf8), using: key)
        self.tag = mac.prefix(8).map { String(format: "%02x", $0) }.joined()
        self.announcement = ByteBuffer(string: "KUMO1 \(tag) \(node.host) \(node.port)")
        self.groupAddress = try SocketAddress(ipAddress: configuration.group, port: configuration.port)
        let heard = self.heard
        let tag = self.tag
        let expiry = configuration.expiry
        let channel = try await DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AnnouncementHandler { text in
                        let parts = text.split(separator: " ")
                        guard parts.count == 4, parts[0] == "KUMO1", parts[1] == tag, let port = Int(parts[3]) else { return }
                        let address = NodeAddress(host: String(parts[2]), port: port)
                        heard.note(address, expiry: expiry)
                    })
                }
            }
            .bind(host: "0.0.0.0", port: configuration.port)
            .get()
        guard let multicast = channel as? any MulticastChannel else {
            try? await channel.close()
            throw ClusterError(.invalidConfiguration, "UDP multicast is not supported here")
        }
        let device: NIONetworkDevice?
        if let interface = configuration.interface {
            device = try System.enumerateDevices().first { $0.address?.ipAddress == interface }
        } else {
            device = nil
        }
        do {
            try await multicast.joinGroup(groupAddress, device: device).get()
            try await channel.writeAndFlush(AddressedEnvelope<ByteBuffer>(remoteAddress: groupAddress, data: announcement)).get()
        } catch {
            try? await channel.close()
            throw ClusterError(.invalidConfiguration, "cannot use multicast group \(configuration.group):\(configuration.port): \(error)")
        }
        self.channel = channel
        let envelope = AddressedEnvelope<ByteBuffer>(remoteAddress: groupAddress, data: announcement)
        let repeated = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: TimeAmount(configuration.interval)) { _ in
            channel.writeAndFlush(envelope, promise: nil)
        }
        timer.withLock { $0 = repeated }
        logger.debug("multicast discovery on \(configuration.group):\(configuration.port)")
    }

    /// The addresses announced recently by other nodes of this cluster.
    var discovered: [NodeAddress] {
        let now = ContinuousClock.now
        return heard.entries.withLock { $0.filter { now - $0.value < configuration.expiry && $0.key != own }.map(\.key) }
    }

    func stop() async {
        timer.withLock { $0?.cancel() }
        try? await channel.close()
    }
}

/// The addresses heard recently, shared by the channel handler and the discovery.
private final class AnnouncementBook: Sendable {
    let entries = Mutex<[NodeAddress: ContinuousClock.Instant]>([:])

    func note(_ address: NodeAddress, expiry: Duration) {
        let now = ContinuousClock.now
        entries.withLock { entries in
            entries[address] = now
            entries = entries.filter { now - $0.value < expiry }
        }
    }
}

private final class AnnouncementHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let onAnnouncement: (String) -> Void

    init(onAnnouncement: @escaping (String) -> Void) {
        self.onAnnouncement = onAnnouncement
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if envelope.data.readableBytes < 200, let text = envelope.data.getString(at: envelope.data.readerIndex, length: envelope.data.readableBytes) {
            onAnnouncement(text)
        }
    }
}

import Foundation
