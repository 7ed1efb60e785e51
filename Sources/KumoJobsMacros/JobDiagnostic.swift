import SwiftDiagnostics

/// What `@Job` refuses, said at the part of the declaration that is wrong.
enum JobDiagnostic: String, DiagnosticMessage {
    case notAFunction
    case instanceMethod
    case localFunction
    case generic
    case inoutParameter
    case variadicParameter
    case functionParameter
    case opaqueParameter
    case existentialParameter
    case metatypeParameter
    case tupleParameter
    case functionResult
    case opaqueResult
    case existentialResult
    case metatypeResult
    case tupleResult
    case typedThrows

    var message: String {
        switch self {
        case .notAFunction: "@Job applies to a function"
        case .instanceMethod: "@Job applies to a global or static function; make this method static or move it out of its type"
        case .localFunction: "@Job applies to a global or static function, not one declared inside another"
        case .generic: "a job cannot be generic: its parameters and result must be concrete Codable types"
        case .inoutParameter: "a job's parameter cannot be inout: arguments travel to another node by value"
        case .variadicParameter: "a job's parameter cannot be variadic; take an array instead"
        case .functionParameter: "a job's parameter must be Codable, and a function is not"
        case .opaqueParameter: "a job's parameter must be a concrete Codable type, not an opaque 'some' type"
        case .existentialParameter: "a job's parameter must be a concrete Codable type, not an existential 'any' type"
        case .metatypeParameter: "a job's parameter must be Codable, and a metatype is not"
        case .tupleParameter: "a job's parameter must be Codable, and a tuple is not; use a struct"
        case .functionResult: "a job's result must be Codable, and a function is not"
        case .opaqueResult: "a job's result must be a concrete Codable type, not an opaque 'some' type"
        case .existentialResult: "a job's result must be a concrete Codable type, not an existential 'any' type"
        case .metatypeResult: "a job's result must be Codable, and a metatype is not"
        case .tupleResult: "a job's result must be Codable, and a tuple is not; use a struct"
        case .typedThrows: "a job throws untyped errors: errors from other nodes may be JobError"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "KumoJobs", id: rawValue) }
    var severity: DiagnosticSeverity { .error }
}
