#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KumoCore
import NIOCore
import Testing

@Suite("Binary coder attachments")
struct BinaryAttachmentTests {
    struct File: Codable, Equatable {
        var name: String
        var bytes: [UInt8]
        var parts: [[UInt8]]
        var small: [UInt8]
    }

    struct FileV1: Codable, Equatable {
        var name: String
    }

    struct FileAsData: Codable, Equatable {
        var name: String
        var bytes: Data
    }

    func encoder(_ threshold: Int?) -> BinaryEncoder {
        var encoder = BinaryEncoder()
        encoder.attachmentThreshold = threshold
        return encoder
    }

    let file = File(
        name: "f", bytes: (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) },
        parts: [[UInt8](repeating: 1, count: 2000), [9, 9], [UInt8](repeating: 2, count: 1001)],
        small: [UInt8](repeating: 3, count: 1000))

    @Test("byte arrays above the threshold, at any depth, are left out and taken back once")
    func roundTrip() throws {
        var buffer = ByteBuffer()
        var attachments: [[UInt8]] = []
        try encoder(1000).encode(file, into: &buffer, attachments: &attachments)
        #expect(attachments == [file.bytes, file.parts[0], file.parts[2]])
        #expect(buffer.readableBytes < 1100)  // the 1000-byte array stays inline, the rest are references
        let store = BinaryAttachments(attachments)
        #expect(try BinaryDecoder().decode(File.self, from: buffer, attachments: store) == file)
        #expect(store.take(0) == nil)  // the decoder moved it out
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(File.self, from: buffer, attachments: store) }
    }

    @Test("without a threshold, or below it, the encoding is the ordinary one")
    func inlineByDefault() throws {
        let plain = try BinaryEncoder().encode(file)
        for threshold in [nil, 5000] as [Int?] {
            var buffer = ByteBuffer()
            var attachments: [[UInt8]] = []
            try encoder(threshold).encode(file, into: &buffer, attachments: &attachments)
            #expect(attachments.isEmpty)
            #expect(buffer == plain)
        }
    }

    @Test("references count on from the attachments already there, so several values share one set")
    func sharedAcrossValues() throws {
        var first = ByteBuffer()
        var second = ByteBuffer()
        var attachments: [[UInt8]] = [[7, 7, 7]]
        try encoder(10).encode([UInt8](repeating: 4, count: 20), into: &first, attachments: &attachments)
        try encoder(10).encode(file, into: &second, attachments: &attachments)
        #expect(attachments.count == 6)
        let store = BinaryAttachments(attachments)
        #expect(try BinaryDecoder().decode(File.self, from: second, attachments: store) == file)
        #expect(try BinaryDecoder().decode([UInt8].self, from: first, attachments: store) == [UInt8](repeating: 4, count: 20))
        #expect(store.take(0) == [7, 7, 7])
    }

    @Test("a reference with no attachment behind it is a clear error, never a crash")
    func missingAttachment() throws {
        var buffer = ByteBuffer()
        var attachments: [[UInt8]] = []
        try encoder(100).encode(file, into: &buffer, attachments: &attachments)
        for store in [nil, BinaryAttachments.none, BinaryAttachments([attachments[0]])] as [BinaryAttachments?] {
            do {
                _ = try BinaryDecoder().decode(File.self, from: buffer, attachments: store)
                Issue.record("expected a decoding error")
            } catch let error as DecodingError {
                #expect("\(error)".contains("attachment"))
            }
        }
        // A decoder that knows nothing of attachments refuses the reference as an impossible length.
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(File.self, from: buffer) }
        // A string never takes an attachment.
        #expect(throws: DecodingError.self) {
            try BinaryDecoder().decode(String.self, from: try encoder(1).encode(file.bytes), attachments: BinaryAttachments(attachments))
        }
    }

    @Test("fields holding references are skipped by older types, and decode as Data or ContiguousArray")
    func evolution() throws {
        var buffer = ByteBuffer()
        var attachments: [[UInt8]] = []
        try encoder(100).encode(file, into: &buffer, attachments: &attachments)
        #expect(try BinaryDecoder().decode(FileV1.self, from: buffer, attachments: BinaryAttachments(attachments)) == FileV1(name: "f"))
        let asData = try BinaryDecoder().decode(FileAsData.self, from: buffer, attachments: BinaryAttachments(attachments))
        #expect(asData == FileAsData(name: "f", bytes: Data(file.bytes)))
        var single = ByteBuffer()
        var one: [[UInt8]] = []
        try encoder(100).encode(file.bytes, into: &single, attachments: &one)
        #expect(try BinaryDecoder().decode(ContiguousArray<UInt8>.self, from: single, attachments: BinaryAttachments(one))
            == ContiguousArray(file.bytes))
    }

    @Test("a failed encode leaves the buffer and the attachments as they were")
    func failedEncode() throws {
        struct Failing: Encodable {
            var bytes: [UInt8]
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(bytes, forKey: .bytes)
                throw CancellationError()
            }
            enum CodingKeys: CodingKey { case bytes }
        }
        var buffer = ByteBuffer(bytes: [1, 2, 3])
        var attachments: [[UInt8]] = [[5]]
        #expect(throws: CancellationError.self) {
            try encoder(10).encode(Failing(bytes: [UInt8](repeating: 0, count: 50)), into: &buffer, attachments: &attachments)
        }
        #expect(buffer == ByteBuffer(bytes: [1, 2, 3]))
        #expect(attachments == [[5]])
    }
}
