import Kumo

/// Records what it is sent, in arrival order; used to check ordering and argument shapes.
public distributed actor Recorder {
    public typealias ActorSystem = ClusterSystem

    private var log: [Int] = []

    public init(actorSystem: ClusterSystem) {
        self.actorSystem = actorSystem
    }

    /// Appends `value` to the log.
    public distributed func record(_ value: Int) {
        log.append(value)
    }

    /// The values recorded so far, in order.
    public distributed func recorded() -> [Int] {
        log
    }

    /// Returns its argument unchanged, whatever its type.
    public distributed func echo<Value: Codable & Sendable>(_ value: Value) -> Value {
        value
    }

    /// Returns the number of bytes it was sent.
    public distributed func count(_ bytes: [UInt8]) -> Int {
        bytes.count
    }

    /// Sends `count` messages `0..<count` to `port`, one way, and returns when all are sent.
    public distributed func stream(count: Int, to port: SendPort<Int>) async throws {
        for value in 0..<count {
            try await port.send(value)
        }
    }
}
