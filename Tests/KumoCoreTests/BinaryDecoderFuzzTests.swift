#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KumoCore
import NIOCore
import Testing

fileprivate typealias Person = BinaryCoderFixtures.Person
fileprivate typealias Wrapper = BinaryCoderFixtures.Wrapper
fileprivate typealias Shape = BinaryCoderFixtures.Shape
fileprivate typealias LinkedList = BinaryCoderFixtures.LinkedList
fileprivate typealias Complex = BinaryCoderFixtures.Complex
fileprivate typealias Dog = BinaryCoderFixtures.Dog
fileprivate typealias Nest = BinaryCoderFixtures.Nest
fileprivate typealias SplitMix64 = BinaryCoderFixtures.SplitMix64

/// The bytes of `value`'s encoding.
fileprivate func encoded<T: Encodable>(_ value: T) throws -> [UInt8] {
    Array(try BinaryEncoder().encode(value).readableBytesView)
}

/// Feeds the decoder random and mutated input. Each call must return or throw; a crash, hang or
/// runaway allocation fails the test run.
@Suite("Binary decoder fuzzing")
struct BinaryDecoderFuzzTests {
    let decoder = BinaryDecoder()

    /// Decodes `bytes` as one of several target types (chosen by `selector`) and reports whether
    /// it decoded.
    @discardableResult
    func attempt(_ bytes: [UInt8], selector: UInt64) -> Bool {
        let buffer = ByteBuffer(bytes: bytes)
        switch selector % 9 {
        case 0: return (try? decoder.decode(Complex.self, from: buffer)) != nil
        case 1: return (try? decoder.decode(Person.self, from: buffer)) != nil
        case 2: return (try? decoder.decode([String: [Wrapper<Int?>]].self, from: buffer)) != nil
        case 3: return (try? decoder.decode(Shape.self, from: buffer)) != nil
        case 4: return (try? decoder.decode(LinkedList.self, from: buffer)) != nil
        case 5: return (try? decoder.decode([Int??].self, from: buffer)) != nil
        case 6: return (try? decoder.decode(Dog.self, from: buffer)) != nil
        case 7: return (try? decoder.decode(Nest.self, from: buffer)) != nil
        default: return (try? decoder.decode(String.self, from: buffer)) != nil
        }
    }

    @Test("random byte strings")
    func randomBytes() {
        var random = SplitMix64(seed: 0x5EED)
        var decodedCount = 0
        for iteration in 0..<20_000 {
            let length = Int(random.next() % 64)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            if iteration % 4 == 0, bytes.count >= 4 {
                // A plausible container length prefix gets the decoder past the first check.
                let length = UInt32(bytes.count - 4)
                bytes[0] = UInt8(truncatingIfNeeded: length)
                bytes[1] = UInt8(truncatingIfNeeded: length >> 8)
                bytes[2] = 0
                bytes[3] = 0
            }
            if attempt(bytes, selector: UInt64(iteration)) { decodedCount += 1 }
        }
        // Some short inputs are valid (e.g. strings); most are not. Either way nothing crashed.
        #expect(decodedCount < 20_000)
    }

    @Test("mutations of valid encodings")
    func mutations() throws {
        var random = SplitMix64(seed: 0xC0FFEE)
        let seeds: [(bytes: [UInt8], selector: UInt64)] = [
            (try encoded(Complex.sample), 0),
            (try encoded(Complex.sample.team.lead), 1),
            (try encoded(Complex.sample.nested), 2),
            (try encoded(Shape.labeled(3, name: "x", .polygon([1, 2]))), 3),
            (try encoded(LinkedList(count: 6)), 4),
            (try encoded([Int??]([nil, .some(nil), 5])), 5),
            (try encoded(Dog(name: "Rex", breed: "collie")), 6),
            (try encoded(Nest(depth: 5)), 7),
        ]
        for seed in seeds { #expect(attempt(seed.bytes, selector: seed.selector)) }

        var decodedCount = 0
        for iteration in 0..<20_000 {
            let seed = seeds[iteration % seeds.count]
            var bytes = seed.bytes
            let mutationCount = 1 + Int(random.next() % 3)
            for _ in 0..<mutationCount {
                mutate(&bytes, &random)
            }
            // Decode as the seed's type most of the time, sometimes as another one.
            let selector = random.next() % 4 == 0 ? random.next() : seed.selector
            if attempt(bytes, selector: selector) { decodedCount += 1 }
        }
        #expect(decodedCount < 20_000)
    }

    @Test("string decoding accepts exactly the well-formed UTF-8")
    func utf8Validation() throws {
        var random = SplitMix64(seed: 0x0075_7466_38)
        // Bytes drawn mostly from the interesting ranges: ASCII, continuation bytes, lead bytes.
        let palette: [ClosedRange<UInt8>] = [0x00...0x7F, 0x80...0xBF, 0xC0...0xC3, 0xC2...0xDF, 0xE0...0xEF, 0xED...0xED, 0xF0...0xF4, 0xF5...0xFF]
        var validCount = 0
        for _ in 0..<20_000 {
            let length = Int(random.next() % 12)
            let bytes: [UInt8] = (0..<length).map { _ in
                let range = palette[Int(random.next() % UInt64(palette.count))]
                return range.lowerBound &+ UInt8(truncatingIfNeeded: random.next() % UInt64(range.count))
            }
            var encoded = ByteBuffer()
            encoded.writeInteger(UInt8(length))
            encoded.writeBytes(bytes)
            let expected = String(validating: bytes, as: UTF8.self)
            let actual = try? decoder.decode(String.self, from: encoded)
            #expect(actual == expected, "bytes \(bytes)")
            if expected != nil { validCount += 1 }
        }
        #expect(validCount > 1_000)
    }

    fileprivate func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
        let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
        switch random.next() % 6 {
        case 0 where !bytes.isEmpty:
            bytes[position] ^= UInt8(1) << (random.next() % 8)  // bit flip
        case 1:
            bytes.removeSubrange(position...)  // truncation
        case 2:
            let count = 1 + Int(random.next() % 4)
            bytes.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: position)
        case 3 where !bytes.isEmpty:
            bytes.remove(at: position)
        case 4 where !bytes.isEmpty:
            bytes[position] = [0x00, 0x01, 0x7F, 0x80, 0xFF][Int(random.next() % 5)]  // interesting byte
        default:
            bytes.append(UInt8(truncatingIfNeeded: random.next()))
        }
    }
}
