/// How much of a node a job takes while it runs, in units a program chooses (cores, say), and
/// how much a node has: what cost-aware placement weighs (Cusinart's `ComputationCost`).
///
/// A node declares its capacity when it installs ``Jobs``; a job declares its cost in its
/// options or per call; a ``DistributedComputation`` estimates its own.
public struct ComputationCost: Sendable, Codable, Hashable, Comparable, CustomStringConvertible {
    /// The cost in the program's units; never negative.
    public var units: Double

    /// A cost of `units` (negative values count as zero).
    public init(units: Double) {
        self.units = units.isFinite ? max(0, units) : 0
    }

    /// A short computation: a hundredth of a unit.
    public static let light = ComputationCost(units: 0.01)
    /// A quarter of a unit.
    public static let medium = ComputationCost(units: 0.25)
    /// One whole unit (a core, when units are cores).
    public static let heavy = ComputationCost(units: 1)

    public static func < (lhs: ComputationCost, rhs: ComputationCost) -> Bool { lhs.units < rhs.units }

    public static func + (lhs: ComputationCost, rhs: ComputationCost) -> ComputationCost {
        ComputationCost(units: lhs.units + rhs.units)
    }

    public static func * (lhs: ComputationCost, count: Int) -> ComputationCost {
        ComputationCost(units: lhs.units * Double(count))
    }

    public var description: String { "\(units) units" }
}
