import Kumo
import NIOCore

/// A job's arguments, encoded one after another in the cluster's binary format. The `@Job`
/// macro writes and reads them; programs rarely touch this type.
public struct JobArguments: Sendable {
    var buffer: ByteBuffer

    /// No arguments yet.
    public init() {
        buffer = ByteBuffer()
    }

    init(bytes: [UInt8]) {
        buffer = ByteBuffer(bytes: bytes)
    }

    /// The encoded arguments.
    var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// Appends `value` as the next argument.
    public mutating func append<Value: Encodable>(_ value: Value) throws {
        let lengthAt = buffer.writerIndex
        buffer.writeInteger(UInt32(0))
        let start = buffer.writerIndex
        do {
            try BinaryEncoder().encode(value, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: lengthAt)
            throw error
        }
        buffer.setInteger(UInt32(buffer.writerIndex - start), at: lengthAt)
    }
}

/// Reads a job's arguments where it runs, in the order they were appended.
public struct JobArgumentReader {
    private var buffer: ByteBuffer
    private let decoder: BinaryDecoder
    private var position = 0

    init(bytes: [UInt8], decoder: BinaryDecoder) {
        self.buffer = ByteBuffer(bytes: bytes)
        self.decoder = decoder
    }

    /// Decodes the next argument as `type`.
    /// - Throws: ``JobError`` with code ``JobError/Code/argumentsMalformed`` when the bytes end
    ///   early or do not decode as `type`.
    public mutating func next<Value: Decodable>(_ type: Value.Type = Value.self) throws -> Value {
        position += 1
        guard let length = buffer.readInteger(as: UInt32.self), let slice = buffer.readSlice(length: Int(length)) else {
            throw ArgumentFault(message: "argument \(position) is missing or truncated")
        }
        do {
            return try decoder.decode(type, from: slice)
        } catch {
            throw ArgumentFault(message: "argument \(position) does not decode as \(Value.self): \(error)")
        }
    }

    /// Checks that no bytes are left over after the last argument.
    public func finish() throws {
        guard buffer.readableBytes == 0 else {
            throw ArgumentFault(message: "\(buffer.readableBytes) bytes left after the last argument")
        }
    }
}

/// Arguments that did not decode; the worker answers with ``JobError/Code/argumentsMalformed``.
struct ArgumentFault: Error {
    let message: String
}
