import CoreMetrics
import Synchronization

/// A minimal swift-metrics backend, for measuring what recording costs Kumo's hot paths (`--metrics`):
/// each counter, recorder and timer is one or two relaxed atomics, about the least a real backend
/// does per update. Nothing reads the values.
final class BenchMetricsFactory: MetricsFactory {
    /// Bootstraps the process's metrics system with this backend, the first time only.
    static func bootstrapOnce() {
        _ = bootstrapped
    }

    private static let bootstrapped: Bool = {
        MetricsSystem.bootstrap(BenchMetricsFactory())
        return true
    }()

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { AtomicCounter() }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        AtomicRecorder()
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { AtomicTimer() }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { AtomicMeter() }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
}

private final class AtomicCounter: CounterHandler {
    private let value = Atomic<Int64>(0)
    func increment(by amount: Int64) { value.add(amount, ordering: .relaxed) }
    func reset() { value.store(0, ordering: .relaxed) }
}

private final class AtomicRecorder: RecorderHandler {
    private let last = Atomic<Int64>(0)
    func record(_ value: Int64) { last.store(value, ordering: .relaxed) }
    func record(_ value: Double) { last.store(Int64(bitPattern: value.bitPattern), ordering: .relaxed) }
}

private final class AtomicTimer: TimerHandler {
    private let count = Atomic<Int64>(0)
    private let total = Atomic<Int64>(0)
    func recordNanoseconds(_ duration: Int64) {
        count.add(1, ordering: .relaxed)
        total.add(duration, ordering: .relaxed)
    }
}

private final class AtomicMeter: MeterHandler {
    private let value = Mutex<Double>(0)
    func set(_ value: Int64) { self.value.withLock { $0 = Double(value) } }
    func set(_ value: Double) { self.value.withLock { $0 = value } }
    func increment(by amount: Double) { value.withLock { $0 += amount } }
    func decrement(by amount: Double) { value.withLock { $0 -= amount } }
}
