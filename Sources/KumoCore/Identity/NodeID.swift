#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One run of a node: its address plus an incarnation number chosen at random when the node starts.
///
/// Two processes that listen on the same address one after the other have different incarnations,
/// so a reference to an actor of the first never reaches the second by accident.
public struct NodeID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// Where the node listens.
    public var address: NodeAddress
    /// A random number fixed for the lifetime of the node (never 0).
    public var incarnation: UInt64

    /// Creates a node identity.
    public init(address: NodeAddress, incarnation: UInt64) {
        self.address = address
        self.incarnation = incarnation
    }

    /// A fresh incarnation number: the wall-clock time in milliseconds in the high 48 bits and
    /// 16 random bits below, so a node restarted at an address has a larger incarnation than
    /// the run before it (as long as the clock does not go back), and two nodes started in the
    /// same millisecond still differ.
    public static func randomIncarnation() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = UInt64(max(0, now.tv_sec)) &* 1000 &+ UInt64(max(0, now.tv_nsec)) / 1_000_000
        return (millis << 16) | UInt64.random(in: 1...0xFFFF)
    }

    public var description: String {
        "\(address)#\(String(incarnation, radix: 16))"
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        (lhs.address, lhs.incarnation) < (rhs.address, rhs.incarnation)
    }

    /// Hashes the incarnation and the port only: they tell nodes apart almost always (equality
    /// still compares the host), and hashing the host's string on every table lookup was a
    /// visible cost on the hot paths that key tables by node.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(incarnation)
        hasher.combine(address.port)
    }
}
