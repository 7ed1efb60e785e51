import Foundation
import Synchronization

/// Microseconds since 1970 that never go back and never repeat on one node, and move past any
/// version the node has seen: versions from one writer increase, and a write follows the one
/// it replaced even if clocks differ.
final class HybridClock: Sendable {
    private let last = Mutex<UInt64>(0)

    func next() -> UInt64 {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return last.withLock { last in
            last = max(now, last + 1)
            return last
        }
    }

    /// `count` consecutive times, the first returned: one lock for a pipeline's writes.
    func next(count: Int) -> UInt64 {
        let now = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        return last.withLock { last in
            let first = max(now, last + 1)
            last = first + UInt64(max(1, count)) - 1
            return first
        }
    }

    func observe(_ time: UInt64) {
        last.withLock { $0 = max($0, time) }
    }
}
