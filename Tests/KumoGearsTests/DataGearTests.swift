import Kumo
import Testing

@testable import KumoGears

@Suite("Data Gears in one manager")
struct DataGearTests {
    func gear(_ value: Int) throws -> DataGear { try DataGear(value) }

    @Test("a key's gears form a queue: take consumes the oldest, peek leaves it, update replaces the newest")
    func queue() async throws {
        let dgm = DataGearManager()
        try await dgm.put("k", 1)
        try await dgm.put("k", 2)
        try await dgm.update("k", 3)
        #expect(try await dgm.peek("k", as: Int.self) == 1)
        #expect(try await dgm.take("k", as: Int.self) == 1)
        #expect(try await dgm.take("k", as: Int.self) == 3)
        #expect(await dgm.count("k") == 0)
        try await dgm.update("k", 9)
        #expect(try await dgm.take("k", as: Int.self) == 9, "update on an empty key puts")
    }

    @Test("take and peek wait until a gear comes; peekers before a taker all see it, the taker consumes it")
    func waiting() async throws {
        let dgm = DataGearManager()
        async let peeked: Int = dgm.peek("later")
        async let taken: Int = dgm.take("later")
        try await Task.sleep(for: .milliseconds(50))
        try await dgm.put("later", 42)
        #expect(try await peeked == 42)
        #expect(try await taken == 42)
        #expect(await dgm.count("later") == 0)
    }

    @Test("no two takers get the same gear")
    func exclusivity() async throws {
        let dgm = DataGearManager()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<200 { group.addTask { try await dgm.take("work", as: Int.self) } }
            for value in 0..<200 { try await dgm.put("work", value) }
            var values: [Int] = []
            for try await value in group { values.append(value) }
            return values
        }
        #expect(values.sorted() == Array(0..<200))
    }

    @Test("a value of another type is refused naming the key and both types, and stays")
    func typeMismatch() async throws {
        let dgm = DataGearManager()
        try await dgm.put("n", 7)
        let error = await #expect(throws: GearError.self) { try await dgm.take("n", as: String.self) }
        #expect(error?.code == .typeMismatch && error?.key == "n")
        #expect(error?.message.contains("Swift.Int") == true && error?.message.contains("Swift.String") == true)
        #expect(try await dgm.take("n", as: Int.self) == 7)
    }

    @Test("a full key refuses a put with a clear error")
    func bounded() async throws {
        let dgm = DataGearManager(capacity: 2)
        try await dgm.put("q", 1)
        try await dgm.put("q", 2)
        let error = await #expect(throws: GearError.self) { try await dgm.put("q", 3) }
        #expect(error?.code == .full && error?.key == "q")
    }

    @Test("flip hands a gear on as it is, to another DGM or key")
    func flip() async throws {
        let a = DataGearManager(name: "a")
        let b = DataGearManager(name: "b")
        try await a.put("x", "hello")
        try await a.flip("x", to: b, key: "y")
        #expect(await a.count("x") == 0)
        #expect(try await b.take("y", as: String.self) == "hello")
    }

    @Test("a cancelled reader leaves the queue; the next gear goes to the next reader")
    func cancellation() async throws {
        let dgm = DataGearManager()
        let cancelled = Task { try await dgm.take("c", as: Int.self) }
        try await Task.sleep(for: .milliseconds(20))
        cancelled.cancel()
        #expect(await (try? cancelled.value) == nil)
        try await dgm.put("c", 5)
        #expect(try await dgm.take("c", as: Int.self) == 5)
    }
}
