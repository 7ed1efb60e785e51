import KumoCore
import NIOCore
import NIOPosix

/// Where a node looks for the cluster it joins. Methods combine: every round, the node tries the
/// addresses all of them give.
public struct Discovery: Sendable {
    enum Method: Sendable {
        case seeds([NodeAddress])
        case dns(host: String, port: Int)
        case multicast(MulticastDiscovery.Configuration)
    }

    let methods: [Method]

    /// A static list of seed (or control) nodes.
    public static func seeds(_ addresses: [NodeAddress]) -> Discovery { Discovery(methods: [.seeds(addresses)]) }

    /// Every address a DNS name resolves to, at `port` — a Kubernetes headless service resolves
    /// to all its pods. Resolved again on every join attempt, so pods that start later are found.
    public static func dns(_ host: String, port: Int) -> Discovery { Discovery(methods: [.dns(host: host, port: port)]) }

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
            case .dns(let host, let port):
                result += await Self.resolve(host, port: port)
            case .multicast:
                result += multicast?.discovered ?? []
            }
        }
        var seen = Set<NodeAddress>()
        return result.filter { seen.insert($0).inserted }
    }

    /// Resolves `host` to all its IPv4 and IPv6 addresses (getaddrinfo, off the event loops).
    static func resolve(_ host: String, port: Int) async -> [NodeAddress] {
        let addresses: [String]? = try? await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
            defer { freeaddrinfo(list) }
            var result: [String] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let entry = cursor {
                if let address = entry.pointee.ai_addr,
                   let socketAddress = try? SocketAddress(address, length: Int(entry.pointee.ai_addrlen)),
                   let ip = socketAddress.ipAddress, !result.contains(ip)
                {
                    result.append(ip)
                }
                cursor = entry.pointee.ai_next
            }
            return result
        }
        return (addresses ?? []).map { NodeAddress(host: $0, port: port) }
    }
}

extension SocketAddress {
    fileprivate init(_ address: UnsafePointer<sockaddr>, length: Int) throws {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            self = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: "") }
        case AF_INET6:
            self = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: "") }
        default:
            throw ClusterError(.invalidConfiguration, "unsupported address family \(address.pointee.sa_family)")
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
