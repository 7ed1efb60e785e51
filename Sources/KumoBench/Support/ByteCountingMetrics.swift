import CoreMetrics
import Synchronization

/// A swift-metrics backend that keeps one number: the bytes the node wrote to its peers
/// (`kumo.transport.bytes_out`, over every connection). Everything else is dropped.
final class ByteCountingMetrics: MetricsFactory, Sendable {
    private let total = BytesOut()

    /// Bytes written so far.
    var bytesOut: Int64 { total.value.load(ordering: .relaxed) }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        label == "kumo.transport.bytes_out" ? total : NOOPMetricsHandler.instance
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
}

private final class BytesOut: CounterHandler, Sendable {
    let value = Atomic<Int64>(0)
    func increment(by amount: Int64) { value.add(amount, ordering: .relaxed) }
    func reset() {}
}
