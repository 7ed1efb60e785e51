/// How many bytes a value will encode to, told cheaply for the kinds of value that are commonly
/// large: arrays of bytes, booleans and fixed-width numbers, and strings. Values that wrap them
/// (a struct holding a byte array, an optional, nested arrays) are not recognised; each
/// argument is judged on its own.
///
/// Kumo encodes a value this large on the ``BulkExecutor`` rather than where the call is made or
/// the result returned: copying tens of megabytes at normal priority on a CPU shared with an
/// event loop holds the loop back a scheduler slice at a time. Each check compares type
/// metadata only, so values of other types cost a few comparisons and report `nil`.
enum EncodedSizeHint {
    /// The encoded size of `value` (payload bytes, leaving out a few bytes of header), or `nil`
    /// when it is not known without encoding.
    static func of<Value>(_ value: Value) -> Int? {
        func count<Element>(_: Element.Type) -> Int? {
            guard Value.self == [Element].self, let array = value as? [Element] else { return nil }
            return array.count * MemoryLayout<Element>.stride
        }
        if let size = count(UInt8.self) ?? count(Int8.self) ?? count(Bool.self) { return size }
        if let size = count(Int16.self) ?? count(UInt16.self) { return size }
        if let size = count(Float.self) ?? count(Double.self) ?? count(Int.self) ?? count(UInt.self) { return size }
        if let size = count(Int32.self) ?? count(UInt32.self) ?? count(Int64.self) ?? count(UInt64.self) { return size }
        if Value.self == String.self, let string = value as? String { return string.utf8.count }
        return nil
    }

    /// Whether `value` is known to encode to more than `threshold` bytes.
    static func exceeds<Value>(_ value: Value, _ threshold: Int) -> Bool {
        (of(value) ?? 0) > threshold
    }
}
