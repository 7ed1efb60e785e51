import Testing

@testable import KumoCore

@Suite("ByteArrayCache")
struct ByteArrayCacheTests {
    static let size = ByteArrayCache.minimumCapacity

    static func address(_ array: [UInt8]) -> UInt {
        array.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    @Test("an array's storage can be told apart on this platform")
    func supported() {
        #expect(ByteArrayCache.isSupported)
    }

    @Test("a kept array is reused, emptied, once nobody else holds it")
    func reuse() {
        let cache = ByteArrayCache()
        var array = [UInt8](repeating: 0xAB, count: Self.size)
        let address = Self.address(array)
        cache.keep(array, now: 0)
        // Still held: not handed out, and the holder's bytes stay as they were.
        #expect(cache.take(capacity: Self.size) == nil)
        #expect(array[Self.size - 1] == 0xAB)
        array = []
        guard let reused = cache.take(capacity: Self.size) else {
            Issue.record("the kept array was not reused")
            return
        }
        #expect(reused.isEmpty)
        #expect(reused.capacity >= Self.size)
        #expect(Self.address(reused) == address)
        #expect(cache.count == 0)
        _ = array
    }

    @Test("a holder who mutates a kept array gets a copy; the kept one is not handed out meanwhile")
    func mutationCopies() {
        let cache = ByteArrayCache()
        var array = [UInt8](repeating: 1, count: Self.size)
        let address = Self.address(array)
        cache.keep(array, now: 0)
        array[0] = 2
        // The holder mutated a copy, so the kept storage is held only by the cache.
        #expect(Self.address(array) != address)
        let reused = cache.take(capacity: Self.size)
        #expect(reused.map(Self.address) == address)
        #expect(array[0] == 2 && array[1] == 1)
    }

    @Test("only arrays of about the size asked for are handed out")
    func sizes() {
        let cache = ByteArrayCache()
        cache.keep([UInt8](repeating: 0, count: Self.size), now: 0)
        #expect(cache.take(capacity: Self.size * 2) == nil)  // too small
        #expect(cache.take(capacity: Self.size / 4) == nil)  // below the minimum, and too large
        #expect(cache.take(capacity: Self.size) != nil)
        // Small arrays are not kept at all.
        #expect(cache.keep([UInt8](repeating: 0, count: 1024), now: 0) == false)
        #expect(cache.count == 0)
    }

    @Test("bounded by count and bytes; the oldest goes first")
    func bounds() {
        let cache = ByteArrayCache(maximumEntries: 2, maximumBytes: Self.size * 8)
        for _ in 0..<5 { cache.keep([UInt8](repeating: 0, count: Self.size), now: 0) }
        #expect(cache.count == 2)
        let bytes = ByteArrayCache(maximumEntries: 10, maximumBytes: Self.size * 2 + Self.size / 2)
        for _ in 0..<5 { bytes.keep([UInt8](repeating: 0, count: Self.size), now: 0) }
        #expect(bytes.count == 2)
    }

    @Test("trim lets go of arrays kept too long, and asks for one trim at a time")
    func trim() {
        let cache = ByteArrayCache(maximumAge: .seconds(5))
        #expect(cache.keep([UInt8](repeating: 0, count: Self.size), now: 0))
        // A trim is due already: keeping more does not ask for another.
        #expect(!cache.keep([UInt8](repeating: 0, count: Self.size), now: 3_000_000_000))
        #expect(cache.trim(now: 5_000_000_000))  // the second is young: trim again later
        #expect(cache.count == 1)
        #expect(!cache.trim(now: 8_000_000_000))
        #expect(cache.count == 0)
        // Empty again: the next keep asks for a trim.
        #expect(cache.keep([UInt8](repeating: 0, count: Self.size), now: 9_000_000_000))
    }
}
