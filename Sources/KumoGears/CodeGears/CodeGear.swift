import Kumo

/// A unit of computation that runs once all its inputs are present (Christie's Code Gear).
///
/// Declare the inputs as properties, their keys fixed where they are declared, and do the work in
/// ``run(_:)``, where every input holds its value:
///
/// ```swift
/// struct CountUp: CodeGear {
///     @Take("count") var count: Int
///     func run(_ cgm: CodeGearManager) async throws {
///         if count < 10 {
///             try await cgm.local.put("count", count + 1)
///             cgm.setup(CountUp())   // to loop, a gear arms a new one
///         }
///     }
/// }
/// ```
public protocol CodeGear: Sendable {
    /// The gear's inputs. The default finds the properties declared with ``Take``, ``Peek``,
    /// ``RemoteTake`` and ``RemotePeek`` by reflection; a gear armed very often may list them
    /// itself (`[_count, _limit]`) and skip that cost.
    var inputs: [any GearInput] { get }

    /// Does the gear's work; its inputs are all present.
    func run(_ cgm: CodeGearManager) async throws
}

extension CodeGear {
    public var inputs: [any GearInput] {
        Mirror(reflecting: self).children.compactMap { $0.value as? any GearInput }
    }
}
