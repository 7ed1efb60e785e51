/// How many replicas a write must reach before it returns.
public struct WriteConsistency: Sendable, Hashable, CustomStringConvertible {
    enum Level: Sendable, Hashable { case local, majority, all }
    let level: Level
    /// How long the write waits for acknowledgements.
    public let timeout: Duration

    /// This node only: the change spreads by gossip afterwards.
    public static let local = WriteConsistency(level: .local, timeout: .zero)
    /// More than half of the key's replicas (this node included) applied the change.
    public static func majority(timeout: Duration = .seconds(3)) -> WriteConsistency {
        WriteConsistency(level: .majority, timeout: timeout)
    }
    /// Every replica of the key applied the change.
    public static func all(timeout: Duration = .seconds(3)) -> WriteConsistency {
        WriteConsistency(level: .all, timeout: timeout)
    }

    public var description: String { "\(level)" }

    /// How many of `replicas` must acknowledge.
    func needed(of replicas: Int) -> Int {
        switch level {
        case .local: 1
        case .majority: replicas / 2 + 1
        case .all: replicas
        }
    }
}

/// How many replicas a read asks before it returns (their values merged).
public struct ReadConsistency: Sendable, Hashable, CustomStringConvertible {
    let level: WriteConsistency.Level
    /// How long the read waits for answers.
    public let timeout: Duration

    /// This node's value.
    public static let local = ReadConsistency(level: .local, timeout: .zero)
    /// The merge of more than half of the key's replicas (this node included).
    public static func majority(timeout: Duration = .seconds(3)) -> ReadConsistency {
        ReadConsistency(level: .majority, timeout: timeout)
    }
    /// The merge of every replica of the key.
    public static func all(timeout: Duration = .seconds(3)) -> ReadConsistency {
        ReadConsistency(level: .all, timeout: timeout)
    }

    public var description: String { "\(level)" }

    func needed(of replicas: Int) -> Int {
        WriteConsistency(level: level, timeout: timeout).needed(of: replicas)
    }
}
