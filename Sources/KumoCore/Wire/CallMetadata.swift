import NIOCore

/// Metadata a remote call carries beside its arguments: a small list of entries, each a key and
/// bytes, such as a W3C trace context (`traceparent`) or a job id (`kumo.job.id`).
///
/// Calls carry the metadata of the task that makes them (``ClusterSystem/withCallMetadata(_:_:_:)``
/// in Kumo), and a remote actor's task sees the metadata its call came with, so it travels on to
/// the calls the actor makes in turn, as deadlines do. Receivers ignore keys they do not know.
/// Entries are bounded (``maximumEntries``, ``maximumKeyLength``, ``maximumValueLength``): a call
/// whose metadata breaks a bound is refused, not run.
public struct CallMetadata: Sendable, Hashable, Sequence, CustomStringConvertible {
    /// The most entries one call may carry.
    public static let maximumEntries = 32
    /// The longest key, in UTF-8 bytes.
    public static let maximumKeyLength = 128
    /// The longest value, in bytes.
    public static let maximumValueLength = 4096

    /// The entries in the order they were set (a key appears once).
    public private(set) var entries: [(key: String, value: [UInt8])] = []

    /// No metadata.
    public init() {}

    /// Whether there are no entries.
    public var isEmpty: Bool { entries.isEmpty }

    /// The value of `key`, or `nil`.
    public subscript(key: String) -> [UInt8]? {
        entries.first { $0.key == key }?.value
    }

    /// The value of `key` as UTF-8 text, or `nil` when absent or not valid UTF-8.
    public func string(forKey key: String) -> String? {
        self[key].flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// Sets `key` to `value` (replacing an earlier value).
    /// - Throws: ``WireError`` (`malformed`) when the key or value is too long, the key is empty,
    ///   or there would be more than ``maximumEntries`` entries.
    public mutating func set(_ key: String, to value: [UInt8]) throws(WireError) {
        if let problem = Self.problem(key: key, valueLength: value.count) { throw WireError(.malformed, problem) }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
            return
        }
        guard entries.count < Self.maximumEntries else {
            throw WireError(.malformed, "call metadata holds at most \(Self.maximumEntries) entries")
        }
        entries.append((key, value))
    }

    /// Sets `key` to the UTF-8 bytes of `value`.
    public mutating func set(_ key: String, to value: String) throws(WireError) {
        try set(key, to: Array(value.utf8))
    }

    /// Removes `key`.
    public mutating func remove(_ key: String) {
        entries.removeAll { $0.key == key }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: [UInt8])]> {
        entries.makeIterator()
    }

    public static func == (lhs: CallMetadata, rhs: CallMetadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }

    public var description: String {
        "[" + entries.map { "\($0.key): \(String(validating: $0.value, as: UTF8.self) ?? "\($0.value.count) bytes")" }
            .joined(separator: ", ") + "]"
    }

    /// What is wrong with an entry of `key` and a value of `valueLength` bytes, or `nil`.
    static func problem(key: String, valueLength: Int) -> String? {
        if key.isEmpty { return "a call metadata key must not be empty" }
        if key.utf8.count > maximumKeyLength {
            return "call metadata key of \(key.utf8.count) bytes (at most \(maximumKeyLength))"
        }
        if valueLength > maximumValueLength {
            return "call metadata value of \(valueLength) bytes for '\(key)' (at most \(maximumValueLength))"
        }
        return nil
    }

    /// Writes the metadata as it travels in a call frame: `count varint | (key string | length
    /// varint | bytes)*`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeWireVarint(entries.count)
        for entry in entries {
            buffer.writeWireString(entry.key)
            buffer.writeWireVarint(entry.value.count)
            buffer.writeBytes(entry.value)
        }
    }

    /// Reads metadata written by ``write(to:)``. A list that is well formed but breaks a bound
    /// (too many entries, a key or value too long, a key twice) is read whole and reported in
    /// `violation`, so the call it came with can be refused while the connection stays usable.
    static func read(from buffer: inout ByteBuffer) throws(WireError) -> (CallMetadata, violation: String?) {
        let count = try buffer.readWireLength(limit: buffer.readableBytes, "metadata entry count")
        var metadata = CallMetadata()
        var violation: String?
        if count > maximumEntries {
            violation = "a call with \(count) metadata entries (at most \(maximumEntries))"
        }
        for _ in 0..<count {
            let key = try buffer.readWireString("metadata key")
            let length = try buffer.readWireLength(limit: buffer.readableBytes, "metadata value length")
            let value = try buffer.readWireSlice(length, "metadata value")
            guard violation == nil else { continue }
            if let problem = problem(key: key, valueLength: length) {
                violation = problem
            } else if metadata[key] != nil {
                violation = "call metadata key '\(key)' appears twice"
            } else {
                metadata.entries.append((key, Array(value.readableBytesView)))
            }
        }
        return (violation == nil ? metadata : CallMetadata(), violation)
    }
}
