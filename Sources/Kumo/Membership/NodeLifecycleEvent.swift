import KumoCore

/// A step of this node's own lifecycle in the cluster: `joining`, `up`, `leaving`, then `removed`
/// after a graceful leave — or `down` when the cluster (or this node itself) declared it down.
///
/// ```swift
/// for await event in system.lifecycleEvents() {
///     if event.status == .down { /* restart to rejoin as a new incarnation */ }
/// }
/// ```
public struct NodeLifecycleEvent: Sendable, Hashable, CustomStringConvertible {
    /// The status this node now has.
    public var status: MemberStatus
    /// Why, when the node went down: which node said so, or which rule it applied to itself.
    public var reason: String?

    public init(status: MemberStatus, reason: String? = nil) {
        self.status = status
        self.reason = reason
    }

    public var description: String {
        reason.map { "\(status): \($0)" } ?? "\(status)"
    }
}

/// This node's lifecycle as its subscribers see it.
struct NodeLifecycle: Sendable {
    private(set) var current: NodeLifecycleEvent?
    private var subscribers: [Int: AsyncStream<NodeLifecycleEvent>.Continuation] = [:]
    private var nextSubscriber = 0
    private var finished = false

    /// Records a new status; returns the continuations to tell, outside the lock (after a
    /// terminal status they are also to be finished, and are no longer held here).
    mutating func advance(to event: NodeLifecycleEvent) -> [AsyncStream<NodeLifecycleEvent>.Continuation] {
        guard !finished, event.status != current?.status else { return [] }
        current = event
        return event.status.isTerminal ? finish() : Array(subscribers.values)
    }

    /// Adds a subscriber, which hears the current status first; `nil` when the lifecycle is
    /// over (the caller then finishes the stream, outside the lock).
    mutating func subscribe(_ continuation: AsyncStream<NodeLifecycleEvent>.Continuation) -> Int? {
        if let current { continuation.yield(current) }
        guard !finished else { return nil }
        let id = nextSubscriber
        nextSubscriber += 1
        subscribers[id] = continuation
        return id
    }

    mutating func unsubscribe(_ id: Int) {
        subscribers.removeValue(forKey: id)
    }

    /// Ends the lifecycle (a terminal status, or shutdown); returns the continuations to finish,
    /// outside the lock (finishing one runs its termination handler, which takes the lock).
    mutating func finish() -> [AsyncStream<NodeLifecycleEvent>.Continuation] {
        finished = true
        defer { subscribers = [:] }
        return Array(subscribers.values)
    }
}
