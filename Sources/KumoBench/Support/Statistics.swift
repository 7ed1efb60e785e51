/// Percentiles of a sample of durations, in microseconds.
struct LatencySummary {
    var p50: Double
    var p99: Double
    var count: Int

    init(nanoseconds samples: [UInt64]) {
        let sorted = samples.sorted()
        count = sorted.count
        func percentile(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.down)))
            return Double(sorted[index]) / 1000
        }
        p50 = percentile(0.50)
        p99 = percentile(0.99)
    }
}

/// The median of some numbers.
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Monotonic nanoseconds.
@inline(__always)
func nowNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Formats a JSON object from ordered fields: strings are quoted, numbers printed with up to
/// three decimals.
func jsonLine(_ fields: [(String, any Sendable)]) -> String {
    let body = fields.map { key, value -> String in
        let rendered: String
        switch value {
        case let string as String: rendered = "\"\(string)\""
        case let int as Int: rendered = String(int)
        case let bool as Bool: rendered = String(bool)
        case let double as Double:
            rendered = double.isFinite ? String(format: "%.3f", double).replacingOccurrences(of: ".000", with: ".0") : "null"
        default: rendered = "\"\(value)\""
        }
        return "\"\(key)\":\(rendered)"
    }
    return "{" + body.joined(separator: ",") + "}"
}

/// Prints a result: the JSON line with --json, a readable line otherwise.
func report(_ options: CommonOptions, _ fields: [(String, any Sendable)]) {
    if options.json {
        print(jsonLine(fields))
    } else {
        print(fields.map { "\($0.0)=\($0.1)" }.joined(separator: "  "))
    }
    fflush(nil)
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
