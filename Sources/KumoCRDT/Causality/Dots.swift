/// The adds of one element (or the updates of one key): almost always one dot, kept inline so a
/// set of a million elements does not hold a million small heap-allocated sets.
public struct Dots: Hashable, Sendable, Sequence {
    private enum Storage: Hashable, Sendable {
        case one(Dot)
        case many(Set<Dot>)
    }
    private var storage: Storage?

    /// No dots.
    public init() { storage = nil }

    /// One dot.
    public init(_ dot: Dot) { storage = .one(dot) }

    /// The dots of `dots`.
    public init(_ dots: some Sequence<Dot>) {
        var set = Set(dots)
        if set.count == 1, let only = set.popFirst() {
            storage = .one(only)
        } else {
            storage = set.isEmpty ? nil : .many(set)
        }
    }

    public var isEmpty: Bool { storage == nil }

    public var count: Int {
        switch storage {
        case nil: 0
        case .one: 1
        case .many(let set): set.count
        }
    }

    public func contains(_ dot: Dot) -> Bool {
        switch storage {
        case nil: false
        case .one(let only): only == dot
        case .many(let set): set.contains(dot)
        }
    }

    public func makeIterator() -> AnyIterator<Dot> {
        switch storage {
        case nil: return AnyIterator { nil }
        case .one(let only):
            var done = false
            return AnyIterator {
                defer { done = true }
                return done ? nil : only
            }
        case .many(let set):
            var iterator = set.makeIterator()
            return AnyIterator { iterator.next() }
        }
    }

    /// The dots as a set.
    public var set: Set<Dot> {
        switch storage {
        case nil: []
        case .one(let only): [only]
        case .many(let set): set
        }
    }

    /// The dots joined under the observed-remove rule (see ``joinDots(_:_:_:_:)``).
    static func join(_ a: Dots, _ aContext: CausalContext, _ b: Dots, _ bContext: CausalContext) -> Dots {
        // The common case first: one add on each side.
        if case .one(let x) = a.storage, case .one(let y) = b.storage {
            if x == y { return a }
            let keepX = !bContext.contains(x)
            let keepY = !aContext.contains(y)
            if keepX && keepY { return Dots([x, y]) }
            return keepX ? a : keepY ? b : Dots()
        }
        return Dots(joinDots(a.set, aContext, b.set, bContext))
    }
}
