import KumoGears

/// Christie's counting loop.
@Gear
struct Count {
    @Take("count") var count: Int
    let limit: Int
    let finished: Finished

    func run(_ cgm: CodeGearManager) async throws {
        print("  \(cgm.name) counted \(count)")
        guard count < limit else { return finished.fire() }
        try await cgm.local.put("count", count + 1)
        cgm.setup(Count(limit: limit, finished: finished))
    }
}

/// Takes the token and puts it, plus one, to the right.
@Gear
struct Pass {
    @Take("token") var token: Int
    let end: Int
    let finished: Finished?

    func run(_ cgm: CodeGearManager) async throws {
        guard token < end else {
            print("  the token came back to \(cgm.name) after \(token) hops")
            finished?.fire()
            return
        }
        if token % 3 == 0 { print("  lap \(token / 3 + 1) starts at \(cgm.name)") }
        try await cgm.dgm("right").put("token", token + 1)
        cgm.setup(Pass(end: end, finished: finished))
    }
}

/// Stage 1 (node1): text to a number, to the right.
@Gear
struct Parse {
    @Take("text") var text: String

    func run(_ cgm: CodeGearManager) async throws {
        try await cgm.dgm("right").put("number", Int(text) ?? 0)
        cgm.setup(Parse())
    }
}

/// Stage 2 (node2): the square, to the right.
@Gear
struct Square {
    @Take("number") var number: Int

    func run(_ cgm: CodeGearManager) async throws {
        print("  \(cgm.name) squares \(number)")
        try await cgm.dgm("right").put("square", number * number)
        cgm.setup(Square())
    }
}

/// Stage 3 (node0): the running sum, until `count` squares have come.
@Gear
struct Sum {
    @Take("square") var square: Int
    let count: Int
    let total: Int
    let finished: Finished

    func run(_ cgm: CodeGearManager) async throws {
        let total = self.total + square
        guard count > 1 else {
            print("  \(cgm.name): the sum of the squares is \(total)")
            return finished.fire()
        }
        cgm.setup(Sum(count: count - 1, total: total, finished: finished))
    }
}
