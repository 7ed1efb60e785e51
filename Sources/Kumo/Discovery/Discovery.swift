import KumoCore
import NIOCore
import NIOPosix

/// Where a node looks for the cluster it joins. Methods combine: every round, the node tries the
/// addresses all of them give.
public struct Discovery: Sendable {
    enum Method: Sendable {
        case seeds([NodeAddress])
        case dns(host: String, port: Int, resolver: DNSResolver)
        case multicast(MulticastDiscovery.Configuration)
    }

    let methods: [Method]

    /// A static list of seed (or control) nodes.
    public static func seeds(_ addresses: [NodeAddress]) -> Discovery { Discovery(methods: [.seeds(addresses)]) }

    /// Every address a DNS name resolves to, at `port` — a Kubernetes headless service resolves
    /// to all its pods. Resolved again on every join attempt, so pods that start later are found.
    /// - Parameter resolver: how the name is resolved: the system's resolver (default), a hosts
    ///   file (``DNSResolver/hostsFile(_:)``), or any other.
    public static func dns(_ host: String, port: Int, resolver: DNSResolver = .system) -> Discovery {
        Discovery(methods: [.dns(host: host, port: port, resolver: resolver)])
    }

    /// Nodes announcing themselves by UDP multicast on the local network (Cloud Haskell's
    /// `findPeers`).
    public static func multicast(_ configuration: MulticastDiscovery.Configuration = .init()) -> Discovery {
        Discovery(methods: [.multicast(configuration)])
    }

    /// No discovery: the node forms a cluster of its own until others join it.
    public static let none = Discovery(methods: [])

    /// Both discoveries' methods.
    public func and(_ other: Discovery) -> Discovery { Discovery(methods: methods + other.methods) }

    var multicastConfiguration: MulticastDiscovery.Configuration? {
        for method in methods { if case .multicast(let configuration) = method { return configuration } }
        return nil
    }

    var isEmpty: Bool {
        methods.allSatisfy { method in
            if case .seeds(let addresses) = method { return addresses.isEmpty }
            return false
        }
    }

    /// The addresses to try now.
    func candidates(multicast: MulticastDiscovery?) async -> [NodeAddress] {
        var result: [NodeAddress] = []
        for method in methods {
            switch method {
            case .seeds(let addresses):
                result += addresses
            case .dns(let host, let port, let resolver):
                result += await resolver.resolve(host).map { NodeAddress(host: $0, port: port) }
            case .multicast:
                result += multicast?.discovered ?? []
            }
        }
        var seen = Set<NodeAddress>()
        return result.filter { seen.insert($0).inserted }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
