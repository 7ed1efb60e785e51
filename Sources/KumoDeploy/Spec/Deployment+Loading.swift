import Foundation
import Yams

extension Deployment {
    /// Reads a description from a YAML or JSON file (YAML is a superset of JSON) and validates
    /// it.
    /// - Throws: ``DeploymentError`` naming the field that is missing, mistyped, unknown or
    ///   invalid, or the file that cannot be read.
    public static func load(from path: String) throws -> Deployment {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DeploymentError(field: "spec", problem: "cannot read \(path)")
        }
        return try parse(text)
    }

    /// Parses and validates a description in YAML or JSON.
    public static func parse(_ text: String) throws -> Deployment {
        let deployment: Deployment
        do {
            deployment = try YAMLDecoder().decode(Deployment.self, from: text)
        } catch let error as DeploymentError {
            throw error
        } catch let error as DecodingError {
            if case .dataCorrupted(let context) = error, let underlying = context.underlyingError {
                if let known = underlying as? DeploymentError { throw known }
                if let decoding = underlying as? DecodingError { throw DeploymentError(decoding: decoding) }
                throw DeploymentError(field: "spec", problem: "is not YAML or JSON: \(underlying)")
            }
            throw DeploymentError(decoding: error)
        } catch {
            throw DeploymentError(field: "spec", problem: "is not YAML or JSON: \(error)")
        }
        try deployment.validate()
        return deployment
    }

    /// The description as JSON, every field given (what `myapp deploy describe` prints).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension DeploymentError {
    /// The field a decoding error is about, and what was wrong.
    init(decoding error: DecodingError) {
        func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var text = ""
            for key in keys + (last.map { [$0] } ?? []) {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "spec" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath, key), problem: "is required")
        case .typeMismatch(let type, let context):
            self.init(field: path(context.codingPath), problem: "must be \(Self.typeName(type))")
        case .valueNotFound(let type, let context):
            self.init(field: path(context.codingPath), problem: "must be \(Self.typeName(type)), not null")
        case .dataCorrupted(let context):
            self.init(field: path(context.codingPath), problem: context.debugDescription)
        @unknown default:
            self.init(field: "spec", problem: "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "a whole number"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is [String].Type: "a list of strings"
        default: "\(type)"
        }
    }
}
