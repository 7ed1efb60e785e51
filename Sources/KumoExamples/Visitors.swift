import Distributed
import Kumo
import KumoCRDT

/// The replicated state of `kumo demo`: a visit counter (Cusinart's distributed counter) and a
/// shopping cart, the same on every node. `kumo node` hosts one as `visitor`, so the demo can make
/// its node change them.
public distributed actor Visitor {
    public typealias ActorSystem = ClusterSystem

    public init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
    }

    /// Counts `times` visits on this node.
    public distributed func visit(times: Int) async throws {
        let visits = try actorSystem.replicated(PNCounter.self, key: Visitor.visitsKey)
        for _ in 0..<times { try await visits.update { $0.increment() } }
    }

    /// Counts `times` visits on this node after `milliseconds`, and returns at once.
    public distributed func visit(times: Int, after milliseconds: Int) {
        let system = actorSystem
        Task {
            try await Task.sleep(for: .milliseconds(milliseconds))
            let visits = try system.replicated(PNCounter.self, key: Visitor.visitsKey)
            for _ in 0..<times { try await visits.update { $0.increment() } }
        }
    }

    /// Puts `count` of `item` into the cart, from this node.
    public distributed func addToCart(_ item: String, count: Int) async throws {
        let cart = try actorSystem.replicated(ORMap<String, PNCounter>.self, key: Visitor.cartKey)
        try await cart.update { $0.update(item) { $0.increment(by: Int64(count)) } }
    }

    /// The visits and the cart as this node sees them.
    public distributed func view() async throws -> VisitorView {
        try await VisitorView(on: actorSystem)
    }

    public static let visitsKey = "demo.visits"
    public static let cartKey = "demo.cart"
}

/// The replicated state as one node sees it.
public struct VisitorView: Codable, Sendable, Equatable, CustomStringConvertible {
    public var visits: Int64
    public var cart: [String: Int64]

    /// The state on `system`'s node.
    public init(on system: ClusterSystem) async throws {
        visits = try await system.replicated(PNCounter.self, key: Visitor.visitsKey).value.value
        let cart = try await system.replicated(ORMap<String, PNCounter>.self, key: Visitor.cartKey).value
        self.cart = Dictionary(uniqueKeysWithValues: cart.keys.compactMap { key in cart[key].map { (key, $0.value) } })
    }

    public var description: String {
        "visits \(visits), cart \(cart.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))"
    }
}
