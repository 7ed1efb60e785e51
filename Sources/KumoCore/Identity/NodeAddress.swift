/// Where a node listens: a host name or IP address and a TCP port.
///
/// Addresses are what seed lists and command lines name. A node at an address may restart; the
/// restarted process is a different ``NodeID`` (a new incarnation) at the same address.
public struct NodeAddress: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The host name or IP address, for example `127.0.0.1`.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the last colon separates the port, so `::1:7000` is not accepted; use
    /// `[::1]:7000` for IPv6 literals).
    public init?(parsing text: some StringProtocol) {
        let text = String(text)
        var hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
        if hostPart.contains(":") && !text.hasPrefix("[") { return nil }
        hostPart = hostPart.isEmpty ? "127.0.0.1" : hostPart
        self.init(host: String(hostPart), port: port)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (lhs: NodeAddress, rhs: NodeAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}
