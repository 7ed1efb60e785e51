import KumoCore
import NIOCore
import Synchronization

/// What became of a message handed to a port.
enum PortDelivery {
    /// Taken; there is room for more.
    case accepted
    /// Taken, but the port is now full: the sender should stop until `resume` is called back.
    case full
    /// The port is closed; the message was dropped.
    case closed
}

/// The receiving end of a port, with its message type erased, as the transport sees it.
protocol PortSink: AnyObject, Sendable {
    /// Appends encoded messages, in order. Runs on the event loop; never blocks.
    func deliver(encoded: [ByteBuffer]) -> PortDelivery
    /// Calls `resume` once the port has room again (at once if it has).
    func whenDrained(_ resume: @escaping @Sendable () -> Void)
    /// Closes the port: its sequence ends after the messages already in it.
    func close()
}

/// The ports that live on this node, by number.
final class PortTable: Sendable {
    private struct State {
        var next: UInt64 = 1
        var sinks: [UInt64: any PortSink] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    func register(_ make: (UInt64) -> any PortSink) -> (UInt64, any PortSink)? {
        state.withLock { state in
            guard !state.closed else { return nil }
            let number = state.next
            state.next += 1
            let sink = make(number)
            state.sinks[number] = sink
            return (number, sink)
        }
    }

    func sink(_ number: UInt64) -> (any PortSink)? {
        state.withLock { $0.sinks[number] }
    }

    func remove(_ number: UInt64) {
        state.withLock { _ = $0.sinks.removeValue(forKey: number) }
    }

    func closeAll() {
        let sinks = state.withLock { state in
            state.closed = true
            let sinks = Array(state.sinks.values)
            state.sinks = [:]
            return sinks
        }
        for sink in sinks { sink.close() }
    }
}
