#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KumoCore
import NIOCore
import Testing

// MARK: - Test types

/// Types shared by the binary coder tests and fuzz tests (namespaced to stay out of the way of
/// other test files in this module).
enum BinaryCoderFixtures {
    struct Person: Codable, Equatable, Sendable {
        var name: String
        var age: Int
        var email: String?
        var tags: [String]
    }

    struct Team: Codable, Equatable, Sendable {
        var name: String
        var lead: Person
        var members: [Person]
        var scores: [String: Int]
    }

    struct Wrapper<T: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
        var value: T
        var list: [T]
    }

    enum Direction: Codable, Equatable, CaseIterable, Sendable {
        case north, south, east, west
    }

    enum Color: String, Codable, Equatable, Sendable {
        case red, green, blue
    }

    indirect enum Shape: Codable, Equatable, Sendable {
        case point
        case circle(radius: Double)
        case rect(width: Double, height: Double)
        case labeled(Int, name: String, Shape?)
        case polygon([Int])
    }

    indirect enum LinkedList: Codable, Equatable, Sendable {
        case end
        case cons(Int, LinkedList)

        init(count: Int) {
            var list = LinkedList.end
            for value in 0..<count { list = .cons(value, list) }
            self = list
        }
    }

    /// Everything at once; the fuzz tests mutate encodings of this.
    struct Complex: Codable, Equatable, Sendable {
        var id: UInt64
        var flag: Bool
        var small: Int8
        var ratio: Float
        var precise: Double
        var title: String
        var blob: [UInt8]
        var data: Data
        var team: Team
        var shapes: [Shape]
        var nested: [String: [Wrapper<Int?>]]
        var maybe: Int??
        var direction: Direction
        var color: Color
        var set: Set<String>
        var byNumber: [Int: String]
        var matrix: [[Int16]]

        static let sample = Complex(
            id: 0xDEAD_BEEF_CAFE,
            flag: true,
            small: -7,
            ratio: 1.5,
            precise: -2.25e-10,
            title: "Ünïcødé ✓ 🎉",
            blob: [0, 1, 2, 254, 255],
            data: Data([9, 8, 7]),
            team: Team(
                name: "core",
                lead: Person(name: "Ada", age: 36, email: "ada@example.com", tags: ["math", "engines"]),
                members: [
                    Person(name: "Bob", age: -3, email: nil, tags: []),
                    Person(name: "Cy", age: Int.max, email: "", tags: ["x"]),
                ],
                scores: ["a": 1, "b": -1]
            ),
            shapes: [.point, .circle(radius: 2), .rect(width: 1, height: 2), .labeled(7, name: "n", .point), .polygon([1, 2, 3])],
            nested: ["k": [Wrapper(value: 1, list: [nil, 2]), Wrapper(value: nil, list: [])], "": []],
            maybe: .some(nil),
            direction: .west,
            color: .green,
            set: ["x", "y"],
            byNumber: [1: "one", -5: "minus five"],
            matrix: [[1, -1], [], [Int16.max, Int16.min]]
        )
    }

    /// Encodes its fields in the reverse of the order it decodes them.
    struct Reordered: Codable, Equatable {
        var a: Int
        var b: String
        var c: Person
        var d: Person

        enum CodingKeys: String, CodingKey { case a, b, c, d }

        init(a: Int, b: String, c: Person, d: Person) {
            self.a = a
            self.b = b
            self.c = c
            self.d = d
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            // `d` is decoded before `c`, although `c` introduced the keys of `Person` on the wire.
            self.d = try container.decode(Person.self, forKey: .d)
            self.a = try container.decode(Int.self, forKey: .a)
            self.c = try container.decode(Person.self, forKey: .c)
            self.b = try container.decode(String.self, forKey: .b)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(c, forKey: .c)
            try container.encode(d, forKey: .d)
            try container.encode(b, forKey: .b)
            try container.encode(a, forKey: .a)
        }
    }

    struct RecordV1: Codable, Equatable {
        var id: Int
        var name: String
    }

    struct RecordV2: Codable, Equatable {
        var id: Int
        var name: String
        var note: String?
    }

    /// V3 gained fields (one of them a nested struct that introduces keys reused later) that V1 and
    /// V2 do not know.
    struct RecordV3: Codable, Equatable {
        var extra: Person
        var id: Int
        var name: String
        var note: String?
        var more: [Person]
    }

    class Animal: Codable {
        var name: String
        init(name: String) { self.name = name }
    }

    /// Stores its superclass through `superEncoder()` / `superDecoder()`.
    final class Dog: Animal, Equatable {
        var breed: String

        enum CodingKeys: String, CodingKey { case breed }

        init(name: String, breed: String) {
            self.breed = breed
            super.init(name: name)
        }

        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.breed = try container.decode(String.self, forKey: .breed)
            try super.init(from: container.superDecoder())
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(breed, forKey: .breed)
            try super.encode(to: container.superEncoder())
        }

        static func == (lhs: Dog, rhs: Dog) -> Bool { lhs.name == rhs.name && lhs.breed == rhs.breed }
    }

    /// Shares its encoder with its superclass (both request a keyed container from it).
    final class Cat: Animal, Equatable {
        var lives: Int

        enum CodingKeys: String, CodingKey { case lives }

        init(name: String, lives: Int) {
            self.lives = lives
            super.init(name: name)
        }

        required init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.lives = try container.decode(Int.self, forKey: .lives)
            try super.init(from: decoder)
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(lives, forKey: .lives)
            try super.encode(to: encoder)
        }

        static func == (lhs: Cat, rhs: Cat) -> Bool { lhs.name == rhs.name && lhs.lives == rhs.lives }
    }

    /// Stores its superclass through an unkeyed container's `superEncoder()`.
    final class Bird: Animal, Equatable {
        var wings: Int

        init(name: String, wings: Int) {
            self.wings = wings
            super.init(name: name)
        }

        required init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            self.wings = try container.decode(Int.self)
            try super.init(from: container.superDecoder())
        }

        override func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            try container.encode(wings)
            try super.encode(to: container.superEncoder())
        }

        static func == (lhs: Bird, rhs: Bird) -> Bool { lhs.name == rhs.name && lhs.wings == rhs.wings }
    }

    /// Uses nested containers inside an unkeyed container.
    struct Matrix: Codable, Equatable {
        var rows: [[Int]]
        var name: String

        enum MetaKeys: String, CodingKey { case name, count }

        init(rows: [[Int]], name: String) {
            self.rows = rows
            self.name = name
        }

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            let meta = try container.nestedContainer(keyedBy: MetaKeys.self)
            name = try meta.decode(String.self, forKey: .name)
            let count = try meta.decode(Int.self, forKey: .count)
            rows = []
            for _ in 0..<count {
                var row = try container.nestedUnkeyedContainer()
                var values: [Int] = []
                while !row.isAtEnd { values.append(try row.decode(Int.self)) }
                rows.append(values)
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            var meta = container.nestedContainer(keyedBy: MetaKeys.self)
            try meta.encode(name, forKey: .name)
            try meta.encode(rows.count, forKey: .count)
            for row in rows {
                var nested = container.nestedUnkeyedContainer()
                for value in row { try nested.encode(value) }
            }
        }
    }

    /// Unkeyed all the way down; used to build arbitrarily deep input.
    struct Nest: Codable, Equatable {
        var children: [Nest]

        init(depth: Int) {
            self.children = depth > 1 ? [Nest(depth: depth - 1)] : []
        }

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            var children: [Nest] = []
            while !container.isAtEnd { children.append(try container.decode(Nest.self)) }
            self.children = children
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.unkeyedContainer()
            for child in children { try container.encode(child) }
        }
    }

    /// A small, seedable, deterministic generator (SplitMix64).
    struct SplitMix64: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) {
            self.state = seed
        }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

fileprivate typealias Person = BinaryCoderFixtures.Person
fileprivate typealias Team = BinaryCoderFixtures.Team
fileprivate typealias Wrapper = BinaryCoderFixtures.Wrapper
fileprivate typealias Direction = BinaryCoderFixtures.Direction
fileprivate typealias Color = BinaryCoderFixtures.Color
fileprivate typealias Shape = BinaryCoderFixtures.Shape
fileprivate typealias LinkedList = BinaryCoderFixtures.LinkedList
fileprivate typealias Complex = BinaryCoderFixtures.Complex
fileprivate typealias Reordered = BinaryCoderFixtures.Reordered
fileprivate typealias RecordV1 = BinaryCoderFixtures.RecordV1
fileprivate typealias RecordV2 = BinaryCoderFixtures.RecordV2
fileprivate typealias RecordV3 = BinaryCoderFixtures.RecordV3
fileprivate typealias Animal = BinaryCoderFixtures.Animal
fileprivate typealias Dog = BinaryCoderFixtures.Dog
fileprivate typealias Cat = BinaryCoderFixtures.Cat
fileprivate typealias Bird = BinaryCoderFixtures.Bird
fileprivate typealias Matrix = BinaryCoderFixtures.Matrix
fileprivate typealias Nest = BinaryCoderFixtures.Nest
fileprivate typealias SplitMix64 = BinaryCoderFixtures.SplitMix64

// MARK: - Helpers

fileprivate func encoded<T: Encodable>(_ value: T) throws -> [UInt8] {
    let buffer = try BinaryEncoder().encode(value)
    return Array(buffer.readableBytesView)
}

fileprivate func decoded<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], maxDepth: Int = 256) throws -> T {
    try BinaryDecoder(maxDepth: maxDepth).decode(T.self, from: ByteBuffer(bytes: bytes))
}

fileprivate func roundTrip<T: Codable>(_ value: T) throws -> T {
    try BinaryDecoder().decode(T.self, from: BinaryEncoder().encode(value))
}

/// The `DecodingError` thrown by `body`, or nil (recorded as a test failure) if it did not throw one.
fileprivate func decodingError<T>(_ body: () throws -> T) -> DecodingError? {
    do {
        _ = try body()
        Issue.record("expected a DecodingError, but decoding succeeded")
        return nil
    } catch let error as DecodingError {
        return error
    } catch {
        Issue.record("expected a DecodingError, got \(error)")
        return nil
    }
}

extension DecodingError {
    fileprivate var context: Context? {
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context),
             .keyNotFound(_, let context), .dataCorrupted(let context):
            return context
        @unknown default:
            return nil
        }
    }

    fileprivate var message: String { context?.debugDescription ?? "" }
    fileprivate var path: [String] { context?.codingPath.map(\.stringValue) ?? [] }
}

private struct Keyed<T: Codable & Equatable>: Codable, Equatable {
    var value: T
}

private struct Single<T: Codable & Equatable>: Codable, Equatable {
    var value: T
    init(_ value: T) { self.value = value }
    init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(T.self) }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

// MARK: - Round trips

@Suite("Binary coder")
struct BinaryCoderTests {
    /// Checks `value` top level, as a keyed field, as unkeyed elements and in a single-value wrapper.
    func checkEverywhere<T: Codable & Equatable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try roundTrip(value) == value, sourceLocation: sourceLocation)
        #expect(try roundTrip(Keyed(value: value)) == Keyed(value: value), sourceLocation: sourceLocation)
        #expect(try roundTrip([value, value]) == [value, value], sourceLocation: sourceLocation)
        #expect(try roundTrip(Single(value)) == Single(value), sourceLocation: sourceLocation)
        #expect(try roundTrip(Optional(value)) == Optional(value), sourceLocation: sourceLocation)
    }

    @Test("integers round-trip at their extremes")
    func integers() throws {
        for value in [Int.min, Int.min + 1, -1, 0, 1, 63, 64, -64, -65, Int.max] { try checkEverywhere(value) }
        for value in [Int8.min, -1, 0, Int8.max] { try checkEverywhere(value) }
        for value in [Int16.min, -1, 0, Int16.max] { try checkEverywhere(value) }
        for value in [Int32.min, -1, 0, Int32.max] { try checkEverywhere(value) }
        for value in [Int64.min, -1, 0, Int64.max] { try checkEverywhere(value) }
        for value in [UInt.min, 127, 128, UInt.max] { try checkEverywhere(value) }
        for value in [UInt8.min, 128, UInt8.max] { try checkEverywhere(value) }
        for value in [UInt16.min, UInt16.max] { try checkEverywhere(value) }
        for value in [UInt32.min, UInt32.max] { try checkEverywhere(value) }
        for value in [UInt64.min, 1 << 63, UInt64.max] { try checkEverywhere(value) }
        for value in [Int128.min, -1, 0, Int128.max] { try checkEverywhere(value) }
        for value in [UInt128.min, UInt128.max] { try checkEverywhere(value) }
    }

    @Test("floating point keeps exact bit patterns")
    func floatingPoint() throws {
        let doubles: [Double] = [0, -0.0, 1.5, -.infinity, .infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                                 Double(bitPattern: 0x7FF8_0000_0000_1234), Double(bitPattern: 0xFFF0_0000_0000_0001)]
        for value in doubles {
            #expect(try roundTrip(value).bitPattern == value.bitPattern)
            #expect(try roundTrip(Keyed(value: value)).value.bitPattern == value.bitPattern)
            #expect(try roundTrip([value]).first?.bitPattern == value.bitPattern)
        }
        let floats: [Float] = [0, -0.0, 3.25, .infinity, .leastNonzeroMagnitude, Float(bitPattern: 0x7FC0_0123)]
        for value in floats {
            #expect(try roundTrip(value).bitPattern == value.bitPattern)
            #expect(try roundTrip(Keyed(value: value)).value.bitPattern == value.bitPattern)
            #expect(try roundTrip([value]).first?.bitPattern == value.bitPattern)
        }
        #expect(try encoded(-0.0 as Double) == [0, 0, 0, 0, 0, 0, 0, 0x80])
    }

    @Test("bools and strings")
    func boolsAndStrings() throws {
        try checkEverywhere(true)
        try checkEverywhere(false)
        for value in ["", "a", "héllo wörld", "🎉👩‍👩‍👧‍👦", "\u{0}", String(repeating: "long ", count: 5_000)] {
            try checkEverywhere(value)
        }
    }

    @Test("primitive encodings are the documented bytes")
    func primitiveBytes() throws {
        #expect(try encoded(0) == [0x00])
        #expect(try encoded(-1) == [0x01])
        #expect(try encoded(1) == [0x02])
        #expect(try encoded(-64) == [0x7F])
        #expect(try encoded(64) == [0x80, 0x01])
        #expect(try encoded(300 as UInt64) == [0xAC, 0x02])
        #expect(try encoded(UInt64.max) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(try encoded(-1 as Int8) == [0xFF])
        #expect(try encoded(true) == [0x01])
        #expect(try encoded(1.0 as Float) == [0x00, 0x00, 0x80, 0x3F])
        #expect(try encoded("hi") == [0x02, 0x68, 0x69])
        #expect(try encoded([UInt8]([1, 2])) == [0x02, 0x01, 0x02])
        #expect(try encoded(Optional<Int>.none) == [0x00])
        #expect(try encoded(Optional<Int>.some(1)) == [0x01, 0x02])
        #expect(try encoded([1, 2]) == [0x02, 0x00, 0x00, 0x00, 0x02, 0x04])
    }

    /// The example of docs/serialization.md.
    @Test("documented keyed example")
    func documentedExample() throws {
        struct Point: Codable, Equatable {
            var x: Int
            var y: Int
        }
        let bytes = try encoded([Point(x: 1, y: -2), Point(x: 3, y: 4)])
        #expect(bytes == [
            0x14, 0x00, 0x00, 0x00,  // unkeyed container: 20 bytes of elements
            0x08, 0x00, 0x00, 0x00,  // Point 1, keyed container: 8 bytes of entries
            0x00, 0x01, 0x78, 0x02,  //   tag 0 (new key, varint), key "x", zigzag(1)
            0x00, 0x01, 0x79, 0x03,  //   tag 0 (new key, varint), key "y", zigzag(-2)
            0x04, 0x00, 0x00, 0x00,  // Point 2: 4 bytes of entries
            0x60, 0x06,              //   tag (12 << 3 | 0): key spelled 12 bytes back ("x"), zigzag(3)
            0x50, 0x08,              //   tag (10 << 3 | 0): key spelled 10 bytes back ("y"), zigzag(4)
        ])
        #expect(try decoded([Point].self, bytes) == [Point(x: 1, y: -2), Point(x: 3, y: 4)])

        struct Box: Codable, Equatable {
            var id: UInt8
            var label: String?
            var point: Point
        }
        let box = Box(id: 7, label: nil, point: Point(x: 1, y: 2))
        let boxBytes = try encoded(box)
        #expect(boxBytes == [
            0x1C, 0x00, 0x00, 0x00,
            0x06, 0x02, 0x69, 0x64, 0x07,
            0x04, 0x05, 0x70, 0x6F, 0x69, 0x6E, 0x74,
            0x0C, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x78, 0x02, 0x00, 0x01, 0x79, 0x04,
        ])
        #expect(try decoded(Box.self, boxBytes) == box)
    }

    @Test("structs, nested structs, collections")
    func structs() throws {
        let person = Person(name: "Ada", age: 36, email: nil, tags: ["a", "b"])
        #expect(try roundTrip(person) == person)
        let team = Complex.sample.team
        #expect(try roundTrip(team) == team)
        #expect(try roundTrip([team, team]) == [team, team])
        #expect(try roundTrip(Complex.sample) == Complex.sample)
        #expect(try roundTrip([String: Int]()) == [:])
        #expect(try roundTrip(["a": 1, "": 2, "ü": 3]) == ["a": 1, "": 2, "ü": 3])
        #expect(try roundTrip([1: "x", -9: "y", Int.max: "z"]) == [1: "x", -9: "y", Int.max: "z"])
        #expect(try roundTrip(Set(["a", "b", "c"])) == Set(["a", "b", "c"]))
        #expect(try roundTrip([[Int]]()) == [])
        #expect(try roundTrip([[1], [], [2, 3]]) == [[1], [], [2, 3]])
        let generic: [String: [Wrapper<Int?>]] = ["a": [Wrapper(value: nil, list: [1, nil])], "b": []]
        #expect(try roundTrip(generic) == generic)
        let tuple = Wrapper(value: Wrapper(value: "x", list: []), list: [Wrapper(value: "y", list: ["z"])])
        #expect(try roundTrip(tuple) == tuple)
        let matrix = Matrix(rows: [[1, 2], [], [-3]], name: "m")
        #expect(try roundTrip(matrix) == matrix)
        #expect(try roundTrip([matrix, matrix]) == [matrix, matrix])
        enum Level: String, Codable, CodingKeyRepresentable { case low, high }
        #expect(try roundTrip([Level.low: 1, .high: 2]) == [.low: 1, .high: 2])
        let scalars = Wrapper(value: [1.5, -2], list: [[Double](), [.infinity]])
        #expect(try roundTrip(scalars) == scalars)
        #expect(try roundTrip([Int64.min]) == [Int64.min])
        #expect(try roundTrip([UInt64.max, 0]) == [UInt64.max, 0])
        #expect(try roundTrip([Int32.min, Int32.max]) == [Int32.min, Int32.max])
        #expect(try roundTrip([UInt32.max]) == [UInt32.max])
        #expect(try roundTrip([Float(1), -0.5]) == [Float(1), -0.5])
        #expect(try roundTrip([true, false]) == [true, false])
        #expect(try roundTrip(["", "ü"]) == ["", "ü"])
    }

    @Test("scalar-array fast paths produce the generic unkeyed encoding")
    func arrayFastPaths() throws {
        /// Encodes its elements one by one through an unkeyed container (the generic path).
        struct Manual<Element: Codable & Equatable>: Codable, Equatable {
            var elements: [Element]
            init(_ elements: [Element]) { self.elements = elements }
            init(from decoder: any Decoder) throws {
                var container = try decoder.unkeyedContainer()
                var elements: [Element] = []
                while !container.isAtEnd { elements.append(try container.decode(Element.self)) }
                self.elements = elements
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.unkeyedContainer()
                for element in elements { try container.encode(element) }
            }
        }
        func check<Element: Codable & Equatable>(_ elements: [Element], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let fast = try encoded(elements)
            #expect(fast == (try encoded(Manual(elements))), sourceLocation: sourceLocation)
            #expect(try decoded(Manual<Element>.self, fast) == Manual(elements), sourceLocation: sourceLocation)
            #expect(try decoded([Element].self, encoded(Manual(elements))) == elements, sourceLocation: sourceLocation)
        }
        try check(["a", "", "üñï"])
        try check([0, -1, Int.max, Int.min])
        try check([1.5, -0.0, .nan].map { $0.isNaN ? 7 : $0 } as [Double])
        try check([true, false])
        try check([Int64.min, 3])
        try check([UInt64.max, 3])
        try check([Float(2), -1])
        try check([Int32.min, 3])
        try check([UInt32.max, 3])
        try check([Int]())
    }

    @Test("enums with and without payloads")
    func enums() throws {
        for direction in Direction.allCases { #expect(try roundTrip(direction) == direction) }
        #expect(try roundTrip(Color.blue) == .blue)
        #expect(try encoded(Color.blue) == [0x04] + Array("blue".utf8))
        let shapes: [Shape] = [
            .point, .circle(radius: -1.5), .rect(width: 2, height: 3),
            .labeled(-4, name: "label", .circle(radius: 1)), .labeled(0, name: "", nil), .polygon([]),
        ]
        for shape in shapes { #expect(try roundTrip(shape) == shape) }
        #expect(try roundTrip(shapes) == shapes)
        #expect(try roundTrip(LinkedList(count: 50)) == LinkedList(count: 50))
    }

    @Test("optionals, including nested optionals")
    func optionals() throws {
        let values: [Int??] = [.none, .some(.none), .some(.some(0)), .some(.some(-5))]
        for value in values {
            #expect(try roundTrip(value) == value)
            #expect(try roundTrip(Keyed(value: value)) == Keyed(value: value))
            #expect(try roundTrip([value]) == [value])
        }
        #expect(try encoded(Int??.some(.none)) == [0x01, 0x00])
        let triple: [Int???] = [.none, .some(.none), .some(.some(.none)), .some(.some(.some(1)))]
        #expect(try roundTrip(triple) == triple)
        for value in triple { #expect(try roundTrip(Keyed(value: value)) == Keyed(value: value)) }
        #expect(try roundTrip([Int?]([nil, 1, nil])) == [nil, 1, nil])
        #expect(try roundTrip(Person(name: "x", age: 1, email: "e", tags: [])).email == "e")
        // An absent optional field costs nothing.
        let withNil = try encoded(Person(name: "x", age: 1, email: nil, tags: []))
        let withValue = try encoded(Person(name: "x", age: 1, email: "", tags: []))
        #expect(withNil.count < withValue.count)
    }

    @Test("explicit encode(nil) and encodeIfPresent interoperate")
    func explicitNil() throws {
        struct Explicit: Encodable {
            var value: Int?
            enum CodingKeys: String, CodingKey { case value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(value, forKey: .value)  // generic Optional encode, writes nil explicitly
            }
        }
        struct Synthesized: Decodable, Equatable { var value: Int? }
        #expect(try decoded(Synthesized.self, encoded(Explicit(value: nil))) == Synthesized(value: nil))
        #expect(try decoded(Synthesized.self, encoded(Explicit(value: 7))) == Synthesized(value: 7))
    }

    @Test("classes with superclasses")
    func classes() throws {
        let dog = Dog(name: "Rex", breed: "collie")
        #expect(try roundTrip(dog) == dog)
        let cat = Cat(name: "Tom", lives: 9)
        #expect(try roundTrip(cat) == cat)
        #expect(try roundTrip([cat, cat]) == [cat, cat])
        let bird = Bird(name: "Tweety", wings: 2)
        #expect(try roundTrip(bird) == bird)
        #expect(try roundTrip(Keyed(value: [bird])).value == [bird])
    }

    @Test("large byte payloads use the block fast path")
    func largeBytes() throws {
        var generator = SplitMix64(seed: 42)
        let bytes = (0..<(4 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let encodedBytes = try BinaryEncoder().encode(bytes)
        #expect(encodedBytes.readableBytes == bytes.count + 4)  // 4-byte varint length + raw bytes
        #expect(try BinaryDecoder().decode([UInt8].self, from: encodedBytes) == bytes)
        let data = Data(bytes)
        #expect(try roundTrip(data) == data)
        #expect(try roundTrip(ContiguousArray(bytes)) == ContiguousArray(bytes))
        #expect(try roundTrip(Keyed(value: data)) == Keyed(value: data))
        #expect(try roundTrip(Keyed(value: bytes)) == Keyed(value: bytes))
        #expect(try roundTrip([Data(), Data([1])]) == [Data(), Data([1])])
    }

    @Test("keys decoded in a different order than encoded")
    func reordered() throws {
        let value = Reordered(
            a: 1, b: "two",
            c: Person(name: "c", age: 3, email: "c@x", tags: ["t"]),
            d: Person(name: "d", age: 4, email: nil, tags: [])
        )
        #expect(try roundTrip(value) == value)
        #expect(try roundTrip([value, value]) == [value, value])
    }

    @Test("types evolve: added optional fields and removed fields")
    func evolution() throws {
        let v1 = RecordV1(id: 1, name: "one")
        #expect(try decoded(RecordV2.self, encoded(v1)) == RecordV2(id: 1, name: "one", note: nil))
        let v2 = RecordV2(id: 2, name: "two", note: "n")
        #expect(try decoded(RecordV1.self, encoded(v2)) == RecordV1(id: 2, name: "two"))
        let extra = Person(name: "e", age: 5, email: "e@x", tags: ["x"])
        let v3 = RecordV3(extra: extra, id: 3, name: "three", note: nil, more: [extra, extra])
        #expect(try decoded(RecordV1.self, encoded(v3)) == RecordV1(id: 3, name: "three"))
        #expect(try decoded(RecordV2.self, encoded(v3)) == RecordV2(id: 3, name: "three", note: nil))
        #expect(try decoded([RecordV1].self, encoded([v3, v3])) == [RecordV1(id: 3, name: "three"), RecordV1(id: 3, name: "three")])
    }

    @Test("many keys, long distances and out-of-order lookups")
    func manyKeys() throws {
        var dictionary: [String: [Int]] = [:]
        for index in 0..<300 { dictionary["key\(index)"] = Array(0..<(index % 7)) }
        #expect(try roundTrip(dictionary) == dictionary)
        // Entries far apart (past the back-reference window) re-spell their keys.
        let people = (0..<200).map { Person(name: String(repeating: "n", count: $0 * 10), age: $0, email: nil, tags: ["t\($0)"]) }
        #expect(try roundTrip(people) == people)
        struct Wide: Codable, Equatable {
            var f0 = 0, f1 = 1, f2 = 2, f3 = 3, f4 = 4, f5 = 5, f6 = 6, f7 = 7, f8 = 8, f9 = 9
            var g0 = "0", g1 = "1", g2 = "2", g3 = "3", g4 = "4", g5 = "5", g6 = "6", g7 = "7", g8 = "8", g9 = "9"
            var o0: Int? = nil, o1: Int? = nil, o2: Int? = nil, o3: Int? = 3, o4: Int? = nil
            var o5: Int? = nil, o6: Int? = nil, o7: Int? = nil, o8: Int? = nil, o9: Int? = 9
        }
        #expect(try roundTrip([Wide(), Wide()]) == [Wide(), Wide()])
    }

    @Test("appends to an existing buffer and decodes from a sliced one")
    func bufferPositions() throws {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        try BinaryEncoder().encode(Complex.sample, into: &buffer)
        #expect(buffer.readableBytesView.prefix(2).elementsEqual([0xAA, 0xBB]))
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try BinaryDecoder().decode(Complex.self, from: buffer) == Complex.sample)
        #expect(try BinaryEncoder().encode(Complex.sample) == buffer)
    }

    @Test("nested containers may be read after their parent moved on")
    func interleavedDecoding() throws {
        struct Pair: Codable, Equatable {
            var inner: [String: Int]
            var list: [Int]
            var after: String
            enum CodingKeys: String, CodingKey { case inner, list, after }
            enum InnerKeys: String, CodingKey { case x, y }
            init(inner: [String: Int], list: [Int], after: String) {
                self.inner = inner
                self.list = list
                self.after = after
            }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                let nested = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
                var list = try container.nestedUnkeyedContainer(forKey: .list)
                after = try container.decode(String.self, forKey: .after)
                inner = ["x": try nested.decode(Int.self, forKey: .x), "y": try nested.decode(Int.self, forKey: .y)]
                var values: [Int] = []
                while !list.isAtEnd { values.append(try list.decode(Int.self)) }
                self.list = values
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                var nested = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .inner)
                try nested.encode(inner["x"] ?? 0, forKey: .x)
                try nested.encode(inner["y"] ?? 0, forKey: .y)
                var list = container.nestedUnkeyedContainer(forKey: .list)
                for value in self.list { try list.encode(value) }
                try container.encode(after, forKey: .after)
            }
        }
        let pair = Pair(inner: ["x": 1, "y": 2], list: [3, 4], after: "z")
        #expect(try roundTrip(pair) == pair)
    }

    @Test("writing to a closed container is rejected")
    func closedContainer() throws {
        struct Misuse: Encodable {
            enum CodingKeys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                var nested = container.nestedUnkeyedContainer(forKey: .a)
                try nested.encode(1)
                try container.encode(2, forKey: .b)
                try nested.encode(3)  // the parent moved on: this container is closed
            }
        }
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode(Misuse()) }
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: EncodingError.self) { try BinaryEncoder().encode([Misuse()], into: &buffer) }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
    }

    @Test("empty types")
    func emptyTypes() throws {
        struct Empty: Codable, Equatable {}
        #expect(try roundTrip(Empty()) == Empty())
        #expect(try roundTrip(Keyed(value: Empty())) == Keyed(value: Empty()))
        #expect(try roundTrip([Empty(), Empty()]) == [Empty(), Empty()])
        #expect(try roundTrip([String: Empty]()) == [:])
    }

    @Test("a zero-size element cannot make an unkeyed loop spin")
    func zeroSizeElements() throws {
        struct Nothing: Codable, Equatable {
            init() {}
            init(from decoder: any Decoder) throws {}
            func encode(to encoder: any Encoder) throws {}
        }
        #expect(try roundTrip(Nothing()) == Nothing())
        #expect(try roundTrip([Nothing]()) == [])
        #expect(throws: DecodingError.self) { try decoded([Nothing].self, [0x01, 0x00, 0x00, 0x00, 0x00]) }
    }

    @Test("userInfo reaches encode(to:) and init(from:)")
    func userInfo() throws {
        let key = CodingUserInfoKey(rawValue: "kumo.test")!
        struct Contextual: Codable, Equatable {
            var seen: String
            static let key = CodingUserInfoKey(rawValue: "kumo.test")!
            init(seen: String) { self.seen = seen }
            init(from decoder: any Decoder) throws {
                let stored = try decoder.singleValueContainer().decode(String.self)
                seen = stored + "/" + (decoder.userInfo[Self.key] as? String ?? "none")
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(encoder.userInfo[Self.key] as? String ?? "none")
            }
        }
        var encoder = BinaryEncoder()
        encoder.userInfo[key] = "enc"
        var decoder = BinaryDecoder()
        decoder.userInfo[key] = "dec"
        let bytes = try encoder.encode([Contextual(seen: "")])
        #expect(try decoder.decode([Contextual].self, from: bytes) == [Contextual(seen: "enc/dec")])
        #expect(try BinaryDecoder().decode([Contextual].self, from: bytes) == [Contextual(seen: "enc/none")])
    }

    @Test("a larger value round-trips repeatedly (correctness micro check)")
    func microCheck() throws {
        let encoder = BinaryEncoder()
        let decoder = BinaryDecoder()
        var buffer = ByteBuffer()
        for _ in 0..<200 {
            buffer.clear()
            try encoder.encode(Complex.sample, into: &buffer)
            #expect(try decoder.decode(Complex.self, from: buffer) == Complex.sample)
        }
        let numbers = Array(-5_000...5_000)
        #expect(try roundTrip(numbers) == numbers)
    }
}

// MARK: - Errors

@Suite("Binary decoder errors")
struct BinaryDecoderErrorTests {
    @Test("every truncation of several encodings throws")
    func truncations() throws {
        func check<T: Codable>(_ value: T) throws {
            let bytes = try encoded(value)
            for length in 0..<bytes.count {
                #expect(throws: DecodingError.self) { try decoded(T.self, Array(bytes[..<length])) }
            }
            _ = try decoded(T.self, bytes)
        }
        try check(Complex.sample)
        try check(Person(name: "Ada", age: 300, email: "a", tags: ["x", "y"]))
        try check(Shape.labeled(1, name: "l", .rect(width: 1, height: 2)))
        try check(LinkedList(count: 5))
        try check(Int.min)
        try check("text")
        try check([Int??]([nil, .some(nil), 3]))
        try check(Dog(name: "a", breed: "b"))
    }

    @Test("truncation inside a field names the field and its type")
    func truncatedField() throws {
        struct Person2: Codable { var name: String; var age: Int }
        var bytes = try encoded(Person2(name: "Ada", age: 300))
        // Drop the last byte of `age` (a 2-byte varint) and fix up the container length.
        bytes.removeLast()
        bytes[0] -= 1
        let error = decodingError { try decoded(Person2.self, bytes) }
        #expect(error?.message == "cannot decode Int for field 'age' of Person2: truncated input (needed 1 more byte)")
        #expect(error?.path == ["age"])
    }

    @Test("type mismatch names the field in the message and the coding path")
    func typeMismatch() throws {
        struct PersonText: Codable { var name: String; var age: String; var email: String?; var tags: [String] }
        struct TeamText: Codable { var name: String; var lead: PersonText }
        struct TeamLead: Codable { var name: String; var lead: Person }
        let bytes = try encoded(TeamText(name: "t", lead: PersonText(name: "n", age: "old", email: nil, tags: [])))
        let error = decodingError { try decoded(TeamLead.self, bytes) }
        guard case .typeMismatch(let type, _) = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(ObjectIdentifier(type) == ObjectIdentifier(Int.self))
        #expect(error?.path == ["lead", "age"])
        #expect(error?.message == "cannot decode Int for field 'age' of Person: wire type mismatch (found length-delimited, expected varint)")
    }

    @Test("errors inside collections carry element indexes")
    func elementPath() throws {
        // ["x"] read as [Bool]: element 0 is the string's length byte 1 (true), element 1 is "x".
        let bytes = try encoded(["a": ["x"]])
        let error = decodingError { try decoded([String: [Bool]].self, bytes) }
        #expect(error?.path == ["a", "Index 1"])
        #expect(error?.message == "cannot decode Bool for element 1 of Array<Bool>: invalid Bool byte 120 (expected 0 or 1)")
    }

    @Test("missing keys and nil values")
    func missingKeys() throws {
        struct Needs: Codable { var name: String; var missing: Int }
        let error = decodingError { try decoded(Needs.self, encoded(RecordV1(id: 1, name: "x"))) }
        guard case .keyNotFound(let key, _) = error else {
            Issue.record("expected keyNotFound, got \(String(describing: error))")
            return
        }
        #expect(key.stringValue == "missing")
        #expect(error?.message == "cannot decode Int for field 'missing' of Needs: key not found")

        struct NilID: Encodable {
            enum CodingKeys: String, CodingKey { case id, name }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encodeNil(forKey: .id)
                try container.encode("x", forKey: .name)
            }
        }
        let nilError = decodingError { try decoded(RecordV1.self, encoded(NilID())) }
        guard case .valueNotFound = nilError else {
            Issue.record("expected valueNotFound, got \(String(describing: nilError))")
            return
        }
        #expect(nilError?.path == ["id"])
    }

    @Test("trailing bytes are rejected")
    func trailingBytes() throws {
        let error = decodingError { try decoded(Int.self, [0x02, 0x00]) }
        #expect(error?.message == "cannot decode Int: 1 trailing byte after the value")
        var bytes = try encoded(Person(name: "a", age: 1, email: nil, tags: []))
        bytes.append(0)
        #expect(throws: DecodingError.self) { try decoded(Person.self, bytes) }
    }

    @Test("top-level byte arrays and strings: round trips, and the general path's errors")
    func topLevelBlocks() throws {
        for count in [0, 1, 127, 128, 20_000, 70_000] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            #expect(try decoded([UInt8].self, encoded(bytes)) == bytes)
            let string = String(repeating: "é", count: count / 2)
            #expect(try decoded(String.self, encoded(string)) == string)
        }
        // The same bytes the general path writes: a varint length, then the bytes.
        #expect(try encoded([UInt8]([7, 8])) == [0x02, 7, 8])
        #expect(try encoded("hi") == [0x02, 0x68, 0x69])
        let trailing = decodingError { try decoded([UInt8].self, [0x01, 7, 8]) }
        #expect(trailing?.message == "cannot decode Array<UInt8>: 1 trailing byte after the value")
        #expect(throws: DecodingError.self) { try decoded([UInt8].self, [0x05, 7, 8]) }
        #expect(throws: DecodingError.self) { try decoded(String.self, [0x05, 0x68]) }
        #expect(throws: DecodingError.self) { try decoded([UInt8].self, []) }
    }

    @Test("invalid UTF-8 is an error, never repaired")
    func invalidUTF8() throws {
        let error = decodingError { try decoded(String.self, [0x02, 0xC3, 0x28]) }
        #expect(error?.message == "cannot decode String: invalid UTF-8")
        #expect(throws: DecodingError.self) { try decoded(String.self, [0x01, 0xFF]) }
        #expect(throws: DecodingError.self) { try decoded(String.self, [0x03, 0xED, 0xA0, 0x80]) }  // surrogate
        var bytes = try encoded(RecordV1(id: 1, name: "ab"))
        bytes[bytes.count - 1] = 0xFF
        let fieldError = decodingError { try decoded(RecordV1.self, bytes) }
        #expect(fieldError?.path == ["name"])
    }

    @Test("bad bool bytes and optional tags")
    func badBool() throws {
        let error = decodingError { try decoded(Bool.self, [0x02]) }
        #expect(error?.message == "cannot decode Bool: invalid Bool byte 2 (expected 0 or 1)")
        #expect(throws: DecodingError.self) { try decoded([Bool].self, [0x01, 0, 0, 0, 0xFF]) }
        #expect(throws: DecodingError.self) { try decoded(Int?.self, [0x02, 0x00]) }
    }

    @Test("over-long and overflowing varints")
    func badVarints() throws {
        let tooLong: [UInt8] = Array(repeating: 0xFF, count: 10) + [0x01]
        #expect(decodingError { try decoded(UInt64.self, tooLong) }?.message == "cannot decode UInt64: varint longer than 10 bytes")
        let overflow: [UInt8] = Array(repeating: 0xFF, count: 9) + [0x02]
        #expect(decodingError { try decoded(UInt64.self, overflow) }?.message == "cannot decode UInt64: varint overflows 64 bits")
        #expect(decodingError { try decoded(UInt16.self, [0x80, 0x80, 0x04]) }?.message == "cannot decode UInt16: value 65536 does not fit in UInt16")
        #expect(throws: DecodingError.self) { try decoded(Int32.self, try encoded(Int64.max)) }
        #expect(try decoded(UInt64.self, Array(repeating: 0xFF, count: 9) + [0x01]) == UInt64.max)
    }

    @Test("lengths larger than the input are rejected before allocating")
    func hugeLengths() throws {
        // A [UInt8] claiming 2^62 bytes, a String claiming 1 GiB, an array claiming 4 GiB.
        #expect(throws: DecodingError.self) { try decoded([UInt8].self, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1, 2]) }
        #expect(throws: DecodingError.self) { try decoded(String.self, [0x80, 0x80, 0x80, 0x80, 0x04, 0x41]) }
        #expect(throws: DecodingError.self) { try decoded([Int].self, [0xFF, 0xFF, 0xFF, 0xFF, 0x00]) }
        #expect(throws: DecodingError.self) { try decoded(Person.self, [0xFF, 0xFF, 0xFF, 0xFF]) }
    }

    @Test("nesting deeper than maxDepth throws instead of overflowing the stack")
    func depth() throws {
        let list = LinkedList(count: 300)
        let bytes = try encoded(list)
        let error = decodingError { try decoded(LinkedList.self, bytes) }
        #expect(error?.message.contains("nesting deeper than maxDepth (256)") == true)
        #expect(try decoded(LinkedList.self, bytes, maxDepth: 400) == list)
        #expect(try decoded(Nest.self, encoded(Nest(depth: 128))) == Nest(depth: 128))

        // Hand-made input nested 200,000 levels deep: each level is an unkeyed container holding
        // the next one.
        let levels = 200_000
        var deep = ByteBuffer()
        deep.reserveCapacity(levels * 4)
        for level in 0..<levels {
            deep.writeInteger(UInt32((levels - 1 - level) * 4), endianness: .little)
        }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Nest.self, from: deep) }
        #expect(throws: DecodingError.self) { try BinaryDecoder(maxDepth: 10).decode(Nest.self, from: deep) }
    }
}
