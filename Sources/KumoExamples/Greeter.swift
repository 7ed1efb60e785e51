import Kumo

/// A small actor for demos and tests: greets, fails on request, sleeps on request.
public distributed actor Greeter {
    public typealias ActorSystem = ClusterSystem

    private var greeted = 0

    public init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
    }

    /// Returns a greeting naming this node.
    public distributed func greet(_ name: String) -> String {
        greeted += 1
        return "Hello, \(name)! (from \(actorSystem.settings.name), greeting #\(greeted))"
    }

    /// Always throws a ``GreeterError`` carrying `reason`.
    public distributed func fail(_ reason: String) throws -> Int {
        throw GreeterError(reason: reason, node: actorSystem.settings.name)
    }

    /// Sleeps for `milliseconds`, then returns them.
    public distributed func sleep(milliseconds: Int) async throws -> Int {
        try await Task.sleep(for: .milliseconds(milliseconds))
        return milliseconds
    }

    /// The number of greetings so far.
    public distributed func greetings() -> Int {
        greeted
    }
}

/// The error ``Greeter/fail(_:)`` throws. It is `Codable`, so callers get it back as itself.
public struct GreeterError: Error, Codable, Hashable, CustomStringConvertible {
    public var reason: String
    public var node: String

    public init(reason: String, node: String) {
        self.reason = reason
        self.node = node
    }

    public var description: String { "GreeterError(\(reason)) on \(node)" }
}
