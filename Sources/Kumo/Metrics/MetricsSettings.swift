/// Whether, and how, a node reports metrics through swift-metrics (see docs/metrics.md).
///
/// A node records into the factory that `MetricsSystem.factory` returns when the node starts:
/// the one bound to the starting task with swift-metrics' `withMetricsFactory`, else the one the
/// program bootstrapped. Kumo never bootstraps the metrics system itself. A node started while
/// that factory is swift-metrics' no-op default records nothing, and its calls do not even read
/// the clock for it: bootstrap the backend before starting nodes.
public struct MetricsSettings: Sendable {
    /// Whether the node records metrics at all. Default `true` (it then records only once a
    /// backend is bootstrapped; see above).
    public var enabled: Bool

    /// Creates metrics settings with the defaults above.
    public init(enabled: Bool = true) {
        self.enabled = enabled
    }
}
