import CoreMetrics
import Distributed
import KumoCore
import NIOCore
import Synchronization

/// The metrics of one node (docs/metrics.md lists them), made through the swift-metrics factory
/// that was current when the node started.
///
/// Every handle is made once and kept: per target for remote calls (the caller's outbox keeps
/// its targets' handles beside their ids, the callee's ``InboundTarget`` beside its verdicts, so
/// a call takes no lock of its own to find them), per connection for what is counted per peer,
/// per node for the rest. Label values are bounded: node names, readable names of distributed
/// funcs that exist in this program, error codes and member statuses — never actor ids or
/// incarnations, and never a target name a peer sent that did not turn out to be a real
/// distributed func (those calls count as ``unknownMethod``).
final class ClusterMetrics: Sendable {
    /// The metric names.
    enum Label {
        static let clientDuration = "rpc.client.duration"
        static let serverDuration = "rpc.server.duration"
        static let clientCalls = "kumo.rpc.client.calls"
        static let serverCalls = "kumo.rpc.server.calls"
        static let bytesIn = "kumo.transport.bytes_in"
        static let bytesOut = "kumo.transport.bytes_out"
        static let connections = "kumo.transport.connections"
        static let reconnects = "kumo.transport.reconnects"
        static let outboxBytes = "kumo.transport.outbox_bytes"
        static let members = "kumo.membership.members"
        static let messagesSent = "kumo.ports.messages_sent"
        static let messagesReceived = "kumo.ports.messages_received"
    }

    /// The dimension names.
    enum Dimension {
        static let rpcSystem = "rpc.system"
        static let method = "rpc.method"
        static let status = "rpc.response.status_code"
        static let node = "kumo.node"
        static let peer = "kumo.peer"
        static let memberStatus = "kumo.member.status"
    }

    /// The value of `rpc.system`.
    static let rpcSystem = "kumo"
    /// The value of `rpc.response.status_code` for a call that returned (a value or nothing).
    static let ok = "ok"
    /// The `rpc.method` of inbound calls refused before they ran, for targets that never ran here.
    static let unknownMethod = "unknown"

    /// Whether anything is recorded: metrics are enabled and the factory is not the no-op one.
    /// When not, ``clock()`` reads no clock and every handle is a no-op.
    let active: Bool
    private let factory: any MetricsFactory
    /// The value of `kumo.node`: this node's name.
    let node: String
    /// Callers' metrics by target identifier (mangled name).
    private let clientCalls = Mutex<[String: CallMetrics]>([:])
    /// Callees' metrics by target identifier, only for targets that ran on this node.
    private let serverCalls = Mutex<[String: CallMetrics]>([:])
    /// Inbound calls refused before they ran, for targets that never ran here.
    let unknownServerCalls: CallMetrics
    private let connections: Meter
    /// One gauge per member status, by the status's raw value.
    private let members: [Gauge]

    init(settings: MetricsSettings, node: String) {
        let current = MetricsSystem.factory
        let active = settings.enabled && !(current is NOOPMetricsHandler)
        let factory: any MetricsFactory = active ? current : NOOPMetricsHandler.instance
        self.active = active
        self.factory = factory
        self.node = node
        // Refused calls never return: no series for returned calls is made for them.
        self.unknownServerCalls = CallMetrics(
            side: .server, method: Self.unknownMethod, node: node, factory: factory, returns: false)
        self.connections = Meter(label: Label.connections, dimensions: [(Dimension.node, node)], factory: factory)
        self.members = MemberStatus.allCases.map { status in
            Gauge(
                label: Label.members, dimensions: [(Dimension.node, node), (Dimension.memberStatus, status.description)],
                factory: factory)
        }
    }

    /// Now, in nanoseconds, for timing a call; 0 (and no clock read) when nothing is recorded.
    @inline(__always)
    func clock() -> UInt64 {
        active ? NIODeadline.now().uptimeNanoseconds : 0
    }

    /// The caller's metrics for the target `identifier` (made on the first call to it).
    func clientCalls(for identifier: String) -> CallMetrics {
        if let known = clientCalls.withLock({ $0[identifier] }) { return known }
        let made = CallMetrics(
            side: .client, method: "\(RemoteCallTarget(identifier))", node: node, factory: factory)
        return clientCalls.withLock { calls in
            if let known = calls[identifier] { return known }
            calls[identifier] = made
            return made
        }
    }

    /// The callee's metrics for `target`, which has just run: the program has a distributed func
    /// of that name, so its name is a bounded label value.
    func serverCalls(ran target: InboundTarget) -> CallMetrics {
        if let known = serverCalls.withLock({ $0[target.name] }) { return known }
        let made = CallMetrics(side: .server, method: target.readableName, node: node, factory: factory)
        return serverCalls.withLock { calls in
            if let known = calls[target.name] { return known }
            calls[target.name] = made
            return made
        }
    }

    /// The callee's metrics for a call to `target` refused before it ran: its own when the
    /// target has run here before, ``unknownServerCalls`` otherwise.
    func serverCalls(refused target: InboundTarget) -> CallMetrics {
        serverCalls.withLock { $0[target.name] } ?? unknownServerCalls
    }

    /// The metrics of a connection to the peer named `name`.
    func peer(named name: String) -> PeerMetrics {
        PeerMetrics(node: node, peer: name, factory: factory)
    }

    /// A connection was established.
    func connectionOpened() { connections.increment() }

    /// An established connection closed.
    func connectionClosed() { connections.decrement() }

    /// Records how many members `membership` has in each status.
    func recordMembers(_ membership: Membership) {
        guard active else { return }
        var counts = [Int](repeating: 0, count: members.count)
        for member in membership.members.values { counts[Int(member.status.rawValue)] += 1 }
        for (gauge, count) in zip(members, counts) { gauge.record(count) }
    }
}

/// The count and duration of remote calls to one target, on one side, by outcome.
///
/// The handles for calls that returned are made at once (for targets whose calls can return);
/// those for each error code when the first call fails with it (under a lock, on the failure
/// path only).
final class CallMetrics: Sendable {
    enum Side {
        case client, server
    }

    private struct Outcome {
        let calls: Counter
        let duration: CoreMetrics.Timer

        init(side: Side, dimensions: [(String, String)], factory: any MetricsFactory) {
            let (count, time) =
                side == .client
                ? (ClusterMetrics.Label.clientCalls, ClusterMetrics.Label.clientDuration)
                : (ClusterMetrics.Label.serverCalls, ClusterMetrics.Label.serverDuration)
            calls = Counter(label: count, dimensions: dimensions, factory: factory)
            duration = CoreMetrics.Timer(label: time, dimensions: dimensions, factory: factory)
        }

        func record(since start: UInt64) {
            calls.increment()
            duration.recordNanoseconds(Int64(truncatingIfNeeded: NIODeadline.now().uptimeNanoseconds &- start))
        }
    }

    /// The value of `rpc.method`.
    let method: String
    private let side: Side
    private let node: String
    private let factory: any MetricsFactory
    private let returned: Outcome?
    /// By the code's raw value.
    private let failures = Mutex<[UInt8: Outcome]>([:])

    init(side: Side, method: String, node: String, factory: any MetricsFactory, returns: Bool = true) {
        self.method = method
        self.side = side
        self.node = node
        self.factory = factory
        self.returned =
            returns ? Outcome(side: side, dimensions: Self.dimensions(method, node, ClusterMetrics.ok), factory: factory) : nil
    }

    private static func dimensions(_ method: String, _ node: String, _ status: String) -> [(String, String)] {
        [
            (ClusterMetrics.Dimension.rpcSystem, ClusterMetrics.rpcSystem), (ClusterMetrics.Dimension.method, method),
            (ClusterMetrics.Dimension.status, status), (ClusterMetrics.Dimension.node, node),
        ]
    }

    /// A call started at `start` (from ``ClusterMetrics/clock()``; 0 records nothing) returned.
    @inline(__always)
    func succeeded(since start: UInt64) {
        guard start != 0 else { return }
        returned?.record(since: start)
    }

    /// A call started at `start` (0 records nothing) failed with `code`.
    func failed(_ code: ClusterError.Code, since start: UInt64) {
        guard start != 0 else { return }
        let outcome: Outcome
        if let known = failures.withLock({ $0[code.rawValue] }) {
            outcome = known
        } else {
            let made = Outcome(side: side, dimensions: Self.dimensions(method, node, code.description), factory: factory)
            outcome = failures.withLock { failures in
                if let known = failures[code.rawValue] { return known }
                failures[code.rawValue] = made
                return made
            }
        }
        outcome.record(since: start)
    }

    /// The code a caller counts `error` under: a ``ClusterError``'s own, `remoteError` for an
    /// error the remote actor threw that arrived as itself.
    static func code(of error: any Error) -> ClusterError.Code {
        (error as? ClusterError)?.code ?? .remoteError
    }
}

/// What is counted per connection, with `kumo.peer` set to the peer's node name.
final class PeerMetrics: Sendable {
    let bytesIn: Counter
    let bytesOut: Counter
    let outboxBytes: Gauge
    let reconnects: Counter
    let messagesSent: Counter
    let messagesReceived: Counter

    init(node: String, peer: String, factory: any MetricsFactory) {
        typealias Label = ClusterMetrics.Label
        let dimensions = [(ClusterMetrics.Dimension.node, node), (ClusterMetrics.Dimension.peer, peer)]
        bytesIn = Counter(label: Label.bytesIn, dimensions: dimensions, factory: factory)
        bytesOut = Counter(label: Label.bytesOut, dimensions: dimensions, factory: factory)
        outboxBytes = Gauge(label: Label.outboxBytes, dimensions: dimensions, factory: factory)
        reconnects = Counter(label: Label.reconnects, dimensions: dimensions, factory: factory)
        messagesSent = Counter(label: Label.messagesSent, dimensions: dimensions, factory: factory)
        messagesReceived = Counter(label: Label.messagesReceived, dimensions: dimensions, factory: factory)
    }
}
