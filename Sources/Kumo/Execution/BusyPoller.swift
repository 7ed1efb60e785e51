import NIOCore

/// Keeps an event loop polling its sockets for a short while after it last had work, instead of
/// going to sleep at once.
///
/// On a virtual machine most of a loopback round trip is the cost of waking a sleeping thread on
/// another CPU. A node that just read or wrote is likely to read again within microseconds (the
/// reply to the call it sent, the next call of a burst), so its loop keeps checking for I/O for
/// ``ClusterSettings/busyPollWindow`` before it blocks — the trade Erlang's schedulers make by
/// spinning before they sleep. Zero turns it off.
///
/// `@unchecked Sendable`: the mutable state is touched only on `eventLoop` (every method runs
/// there, which `activity()` asserts in debug builds).
final class BusyPoller: @unchecked Sendable {
    private let eventLoop: any EventLoop
    private let window: UInt64
    private var lastActivity: UInt64 = 0
    private var polling = false

    init(eventLoop: any EventLoop, window: Duration) {
        self.eventLoop = eventLoop
        self.window = UInt64(max(0, TimeAmount(window).nanoseconds))
    }

    /// Notes that the loop just did I/O. Runs on the loop.
    func activity() {
        guard window > 0 else { return }
        eventLoop.assertInEventLoop()
        lastActivity = Self.now()
        if !polling {
            polling = true
            eventLoop.execute { self.poll() }
        }
    }

    /// While the window lasts, keeps a task queued: the loop then checks its sockets without
    /// blocking before it runs the task, again and again.
    private func poll() {
        if Self.now() &- lastActivity < window {
            eventLoop.execute { self.poll() }
        } else {
            polling = false
        }
    }

    private static func now() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
