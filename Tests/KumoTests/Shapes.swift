import Foundation

// Argument shapes for round-trip tests.

struct Person: Codable, Hashable, Sendable {
    var name: String
    var age: Int
    var email: String?
    var tags: [String]
}

enum Shape: Codable, Hashable, Sendable {
    case circle(radius: Double)
    case rectangle(width: Double, height: Double)
    case polygon([Double], closed: Bool)
    case empty
}

struct Wrapper<Value: Codable & Hashable & Sendable>: Codable, Hashable, Sendable {
    var value: Value
    var note: String?
}

indirect enum Tree: Codable, Hashable, Sendable {
    case leaf(Int)
    case node(Tree, Tree)
}

/// An error that is not Codable: it must arrive as a ClusterError naming its type.
struct OpaqueFailure: Error, CustomStringConvertible {
    var description: String { "opaque failure" }
}
