/// A low-level problem found while reading bytes.
///
/// Faults never leave the coder: the container method that hit one turns it into a `DecodingError`
/// naming the type and field being decoded (see ``CoderErrors``).
enum CoderFault: Error {
    case truncated(needed: Int)
    case lengthExceedsInput(length: UInt64, available: Int)
    case varintTooLong
    case varintOverflow
    case integerOverflow(value: String, type: String)
    case invalidBool(UInt8)
    case invalidOptionalTag(UInt8)
    case invalidUTF8
    case invalidWireType(UInt8)
    case wireTypeMismatch(found: UInt8, expected: UInt8)
    case invalidFixedLength(found: UInt64, expected: Int)
    case badKeyReference
    case notPrimitive
    case keyNotFound
    case nilValue
    case unkeyedAtEnd
    case emptyElement
    case depthExceeded(limit: Int)
    case containerExpired
    case trailingBytes(Int)
    case missingAttachment(Int)

    /// The explanation appended to the error message.
    var reason: String {
        switch self {
        case .truncated(let needed):
            "truncated input (needed \(needed) more byte\(needed == 1 ? "" : "s"))"
        case .lengthExceedsInput(let length, let available):
            "truncated input (length \(length) exceeds the \(available) remaining byte\(available == 1 ? "" : "s"))"
        case .varintTooLong:
            "varint longer than 10 bytes"
        case .varintOverflow:
            "varint overflows 64 bits"
        case .integerOverflow(let value, let type):
            "value \(value) does not fit in \(type)"
        case .invalidBool(let byte):
            "invalid Bool byte \(byte) (expected 0 or 1)"
        case .invalidOptionalTag(let byte):
            "invalid Optional tag \(byte) (expected 0 or 1)"
        case .invalidUTF8:
            "invalid UTF-8"
        case .invalidWireType(let raw):
            "invalid wire type \(raw)"
        case .wireTypeMismatch(let found, let expected):
            "wire type mismatch (found \(CoderWireType.name(of: found)), expected \(CoderWireType.name(of: expected)))"
        case .invalidFixedLength(let found, let expected):
            "invalid length \(found) (expected \(expected))"
        case .badKeyReference:
            "invalid key reference"
        case .notPrimitive:
            "internal error: not a primitive type"
        case .keyNotFound:
            "key not found"
        case .nilValue:
            "found nil"
        case .unkeyedAtEnd:
            "unkeyed container is at end"
        case .emptyElement:
            "element consumed no input (zero-size values cannot be unkeyed elements)"
        case .depthExceeded(let limit):
            "nesting deeper than maxDepth (\(limit))"
        case .containerExpired:
            "container used after the value that created it was decoded"
        case .trailingBytes(let count):
            "\(count) trailing byte\(count == 1 ? "" : "s") after the value"
        case .missingAttachment(let index):
            "reference to attachment \(index), which did not come with the input or was taken already"
        }
    }
}

/// The structured description carried (as `underlyingError`) by every `DecodingError` the coder
/// creates while it unwinds, so that each level can enrich the message without parsing it.
struct CoderErrorDetail: Error {
    /// The Swift type that was being decoded where the problem was found.
    var typeName: String
    /// The innermost field, rendered: `field 'age'` or `element 3`.
    var field: String?
    /// The type whose container holds ``field``.
    var owner: String?
    /// What went wrong.
    var reason: String

    var message: String {
        var text = "cannot decode \(typeName)"
        if let field { text += " for \(field)" }
        if let owner { text += " of \(owner)" }
        return text + ": " + reason
    }
}

/// Builders for the `DecodingError`s thrown by ``BinaryDecoder``.
///
/// The coding path is built lazily: an error is created with the innermost key only, and each
/// container or value level it unwinds through prepends its key or names its type.
enum CoderErrors {
    /// Renders `key` for messages.
    static func describe(_ key: any CodingKey) -> String {
        if key is CoderIndexKey, let index = key.intValue {
            return "element \(index)"
        }
        return "field '\(key.stringValue)'"
    }

    /// Creates the error for `fault`, met while decoding a value of `type` stored under `key`.
    static func make(_ fault: CoderFault, type: Any.Type, key: (any CodingKey)?) -> DecodingError {
        make(fault, type: type, typeName: String(describing: type), key: key)
    }

    static func make(_ fault: CoderFault, type: Any.Type, typeName: String, key: (any CodingKey)?) -> DecodingError {
        let detail = CoderErrorDetail(
            typeName: typeName,
            field: key.map(describe),
            owner: nil,
            reason: fault.reason
        )
        switch fault {
        case .keyNotFound:
            // As in Foundation's coders, the path of a missing key ends at its container.
            let context = DecodingError.Context(codingPath: [], debugDescription: detail.message, underlyingError: detail)
            return .keyNotFound(key ?? CoderSuperKey(), context)
        case .nilValue, .unkeyedAtEnd:
            let context = DecodingError.Context(codingPath: key.map { [$0] } ?? [], debugDescription: detail.message, underlyingError: detail)
            return .valueNotFound(type, context)
        case .wireTypeMismatch:
            let context = DecodingError.Context(codingPath: key.map { [$0] } ?? [], debugDescription: detail.message, underlyingError: detail)
            return .typeMismatch(type, context)
        default:
            let context = DecodingError.Context(codingPath: key.map { [$0] } ?? [], debugDescription: detail.message, underlyingError: detail)
            return .dataCorrupted(context)
        }
    }

    /// Converts whatever a container-level operation threw: a fault becomes a `DecodingError`
    /// for (`type`, `key`); a coder `DecodingError` from deeper down gets `key` prepended to its
    /// path; anything else (errors thrown by user code) passes through unchanged.
    static func convert(_ error: any Error, type: Any.Type, key: (any CodingKey)?) -> any Error {
        if let fault = error as? CoderFault {
            return make(fault, type: type, key: key)
        }
        guard let key, let decodingError = error as? DecodingError else { return error }
        return rebuild(decodingError) { path, detail in
            path.insert(key, at: 0)
            if detail.field == nil { detail.field = describe(key) }
        } ?? error
    }

    /// Names `owner`, the type whose `init(from:)` the error unwound through.
    static func addingOwner(_ error: any Error, owner: Any.Type) -> any Error {
        guard let decodingError = error as? DecodingError else { return error }
        return rebuild(decodingError) { _, detail in
            if detail.field == nil {
                // The failure concerns the value itself (its header or its single value).
                if detail.owner == nil { detail.typeName = String(describing: owner) }
            } else if detail.owner == nil {
                detail.owner = String(describing: owner)
            }
        } ?? error
    }

    /// The error handed to the caller of ``BinaryDecoder/decode(_:from:)``.
    static func finalize(_ error: any Error, type: Any.Type) -> any Error {
        if let fault = error as? CoderFault {
            return strip(make(fault, type: type, key: nil))
        }
        guard let decodingError = error as? DecodingError else { return error }
        return strip(decodingError)
    }

    /// Removes the private detail from the final error.
    private static func strip(_ error: DecodingError) -> DecodingError {
        rebuild(error, dropDetail: true) { _, _ in } ?? error
    }

    /// Rebuilds a coder-created `DecodingError` with a changed path/detail; returns nil for errors
    /// the coder did not create.
    private static func rebuild(
        _ error: DecodingError,
        dropDetail: Bool = false,
        _ change: (inout [any CodingKey], inout CoderErrorDetail) -> Void
    ) -> DecodingError? {
        func update(_ context: DecodingError.Context) -> DecodingError.Context? {
            guard var detail = context.underlyingError as? CoderErrorDetail else { return nil }
            var path = context.codingPath
            change(&path, &detail)
            return DecodingError.Context(
                codingPath: path,
                debugDescription: detail.message,
                underlyingError: dropDetail ? nil : detail
            )
        }
        switch error {
        case .typeMismatch(let type, let context):
            return update(context).map { .typeMismatch(type, $0) }
        case .valueNotFound(let type, let context):
            return update(context).map { .valueNotFound(type, $0) }
        case .keyNotFound(let key, let context):
            return update(context).map { .keyNotFound(key, $0) }
        case .dataCorrupted(let context):
            return update(context).map { .dataCorrupted($0) }
        @unknown default:
            return nil
        }
    }
}

/// Builders for the `EncodingError`s thrown by ``BinaryEncoder``.
enum CoderEncodingErrors {
    static func invalid(_ message: String) -> EncodingError {
        EncodingError.invalidValue(message, EncodingError.Context(codingPath: [], debugDescription: message))
    }
}
