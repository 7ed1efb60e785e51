#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Turns a DNS name into the IP addresses it stands for: how ``Discovery/dns(_:port:resolver:)``
/// finds the pods behind a Kubernetes headless service.
///
/// ``system`` asks the operating system (getaddrinfo: `/etc/hosts`, then DNS); ``hostsFile(_:)``
/// reads a file in the hosts format, so that a cluster's discovery can be tried on one machine;
/// `DNSResolver { name in … }` is any other (a stub in a test).
public struct DNSResolver: Sendable {
    /// The addresses `name` resolves to now, without duplicates; none when it does not resolve.
    public let resolve: @Sendable (_ name: String) async -> [String]

    /// A resolver that answers with `resolve`.
    public init(_ resolve: @escaping @Sendable (_ name: String) async -> [String]) {
        self.resolve = resolve
    }

    /// The operating system's resolver: every IPv4 and IPv6 address of the name (getaddrinfo,
    /// run off the event loops).
    public static let system = DNSResolver { name in
        let addresses: [String]? = try? await NIOThreadPool.singleton.runIfActive { getAddresses(name) }
        return addresses ?? []
    }

    /// The addresses a file in the format of `/etc/hosts` gives the name (`IP NAME ALIAS…` per
    /// line, `#` starts a comment), read again on every lookup: pods can be added to it while
    /// nodes run.
    public static func hostsFile(_ path: String) -> DNSResolver {
        DNSResolver { name in
            let text: String? = try? await NIOThreadPool.singleton.runIfActive { try readFile(path) }
            return HostsFile.addresses(of: name, in: text ?? "")
        }
    }
}

/// The hosts format, parsed.
enum HostsFile {
    /// The addresses the lines of `text` give `name`, in the order they appear.
    static func addresses(of name: String, in text: String) -> [String] {
        var result: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields.dropFirst().contains(where: { $0.lowercased() == name.lowercased() }) else { continue }
            let address = String(fields[0])
            if !result.contains(address) { result.append(address) }
        }
        return result
    }
}

private func getAddresses(_ name: String) -> [String] {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
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

private func readFile(_ path: String) throws -> String {
    guard let file = fopen(path, "r") else {
        throw ClusterError(.invalidConfiguration, "cannot read the hosts file \(path)")
    }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&chunk, 1, chunk.count, file)
        if count <= 0 { break }
        bytes += chunk[0..<count]
        // A hosts file is small; a huge one is cut rather than read whole.
        if bytes.count > 1 << 20 { break }
    }
    return String(decoding: bytes, as: UTF8.self)
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
