import Kumo
import NIOCore

/// A job: its stable name, its options, and how a node runs it from encoded arguments. The
/// `@Job` macro declares one beside each function it marks (`squareJob` for `square`); a node
/// that should run the job lists it when installing ``Jobs``.
public struct JobDefinition<Value: Sendable>: Sendable {
    /// The name the job is known by on the wire: `Module.function(labels:)`, or the one given
    /// in the attribute.
    public let name: String
    /// The job's own options.
    public let options: JobOptions
    let entry: JobEntry
    let decode: @Sendable (ByteBuffer, BinaryDecoder) throws -> Value

    /// A job whose result travels as `result` says: what the `@Job` macro writes.
    ///
    /// - Parameters:
    ///   - result: `.codable` for a `Codable` result, `.none` for a job that returns nothing.
    ///   - name: The name given in the attribute, used as it is; `nil` names the job
    ///     `Module.function`, the module taken from `fileID`.
    ///   - function: The function's name, with its type when it is static (`Math.square(_:)`).
    ///   - fileID: `#fileID` where the job is declared.
    ///   - isAsync: Whether the function is `async` (a synchronous job in a batch runs its items
    ///     one after another in one task).
    ///   - options: The job's options.
    ///   - run: Decodes the arguments and calls the function.
    public init(
        result: JobResultCoding<Value>, name: String?, function: String, fileID: String, isAsync: Bool,
        options: JobOptions = JobOptions(),
        run: @escaping @Sendable (inout JobArgumentReader) async throws -> Value
    ) {
        let name = name ?? Self.qualifiedName(function, fileID: fileID)
        self.name = name
        self.options = options
        let encode = result.encode
        self.entry = JobEntry(name: name, options: options, isAsync: isAsync) { reader in
            try encode(try await run(&reader))
        }
        self.decode = result.decode
    }

    /// A job with a `Codable` result.
    ///
    /// - Parameters:
    ///   - name: The name given in the attribute, used as it is; `nil` names the job
    ///     `Module.function`, the module taken from `fileID`.
    ///   - function: The function's name, with its type when it is static (`Math.square(_:)`).
    ///   - fileID: `#fileID` where the job is declared.
    ///   - isAsync: Whether the function is `async` (a synchronous job in a batch runs its items
    ///     one after another in one task).
    ///   - run: Decodes the arguments and calls the function.
    public init(
        name: String?, function: String, fileID: String, options: JobOptions = JobOptions(), isAsync: Bool,
        run: @escaping @Sendable (inout JobArgumentReader) async throws -> Value
    ) where Value: Codable {
        self.init(result: .codable, name: name, function: function, fileID: fileID, isAsync: isAsync, options: options, run: run)
    }

    /// A job that returns nothing.
    public init(
        name: String?, function: String, fileID: String, options: JobOptions = JobOptions(), isAsync: Bool,
        run: @escaping @Sendable (inout JobArgumentReader) async throws -> Void
    ) where Value == Void {
        self.init(result: .none, name: name, function: function, fileID: fileID, isAsync: isAsync, options: options, run: run)
    }

    /// The same job with its options changed by `change`: for settings a node learns at run
    /// time (a cap from its configuration, say). Every node that runs the job should agree.
    public func withOptions(_ change: (inout JobOptions) -> Void) -> JobDefinition {
        var options = self.options
        change(&options)
        return JobDefinition(
            name: name, options: options,
            entry: JobEntry(name: entry.name, options: options, isAsync: entry.isAsync, run: entry.run), decode: decode)
    }

    private init(name: String, options: JobOptions, entry: JobEntry, decode: @escaping @Sendable (ByteBuffer, BinaryDecoder) throws -> Value) {
        self.name = name
        self.options = options
        self.entry = entry
        self.decode = decode
    }

    /// `Module.function`, the module being the first component of `fileID`.
    static func qualifiedName(_ function: String, fileID: String) -> String {
        let module = fileID.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        return module.isEmpty ? function : "\(module).\(function)"
    }
}

/// A job as a node keeps it: no result type, bytes in and bytes out.
struct JobEntry: Sendable {
    let name: String
    let options: JobOptions
    let isAsync: Bool
    let run: @Sendable (inout JobArgumentReader) async throws -> ByteBuffer
}

/// How a job's result travels: ``codable`` for a `Codable` result, ``none`` for a job that
/// returns nothing.
public struct JobResultCoding<Value: Sendable>: Sendable {
    let encode: @Sendable (Value) throws -> ByteBuffer
    let decode: @Sendable (ByteBuffer, BinaryDecoder) throws -> Value
}

extension JobResultCoding where Value: Codable {
    /// The result in the cluster's binary format.
    public static var codable: JobResultCoding<Value> {
        JobResultCoding(
            encode: { try BinaryEncoder().encode($0) },
            decode: { bytes, decoder in try decoder.decode(Value.self, from: bytes) })
    }
}

extension JobResultCoding where Value == Void {
    /// No result.
    public static var none: JobResultCoding<Void> {
        JobResultCoding(encode: { _ in ByteBuffer() }, decode: { _, _ in () })
    }
}
