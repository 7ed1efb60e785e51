import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@Job`: writes a job's definition and its variants beside the function (see `Job` in
/// KumoJobs for what each does).
public struct JobMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let signature = JobSignature.read(declaration, in: context) else { return [] }
        let arguments = node.arguments?.as(LabeledExprListSyntax.self) ?? []
        let nameExpression = arguments.first { $0.label == nil }?.expression.trimmedDescription ?? "nil"
        let optionsExpression = arguments.first { $0.label?.text == "options" }?.expression.trimmedDescription
            ?? "KumoJobs.JobOptions()"
        return JobExpansion(signature: signature, nameExpression: nameExpression, optionsExpression: optionsExpression)
            .declarations
    }
}

/// The text of the declarations `@Job` writes for one function.
struct JobExpansion {
    let signature: JobSignature
    let nameExpression: String
    let optionsExpression: String

    private var base: String { signature.name }
    private var modifiers: String { signature.modifiers.map(\.trimmedDescription).map { $0 + " " }.joined() }
    private var value: String { signature.result?.description ?? "Void" }
    private var returns: String { signature.result.map { " -> \($0)" } ?? "" }
    private var definition: String { "\(base)Job" }

    /// The function itself, called with the parameters' names: `square(a)`, `Math.square(a)`.
    private var directCall: String {
        let callee = (signature.typePath + [base]).joined(separator: ".")
        let arguments = signature.parameters.map { ($0.label.map { "\($0): " } ?? "") + $0.name }.joined(separator: ", ")
        let effects = (signature.isThrowing ? "try " : "") + (signature.isAsync ? "await " : "")
        return "\(effects)\(callee)(\(arguments))"
    }

    /// The parameter list of the single-call variants, with `extra` appended.
    private func parameterList(_ extra: String? = nil) -> String {
        var parts = signature.parameters.map { parameter in
            let label = parameter.label ?? "_"
            let defaultValue = parameter.defaultValue.map { " \($0.trimmedDescription)" } ?? ""
            return label == parameter.name
                ? "\(parameter.name): \(parameter.type)\(defaultValue)"
                : "\(label) \(parameter.name): \(parameter.type)\(defaultValue)"
        }
        if let extra { parts.append(extra) }
        return parts.joined(separator: ", ")
    }

    /// Statements appending every parameter to `_kumoArguments`, reading them from `source`
    /// (`nil`: the parameters themselves; otherwise a tuple or a single value).
    private func appends(from source: String?) -> String {
        signature.parameters.map { parameter in
            let value: String
            if let source {
                value = signature.parameters.count == 1 ? source : "\(source).\(parameter.name)"
            } else {
                value = parameter.name
            }
            return "try _kumoArguments.append(\(value))"
        }.joined(separator: "\n")
    }

    /// The element type of a fan-out: the single parameter's type, or a tuple of them.
    private var itemType: String {
        if signature.parameters.count == 1 { return signature.parameters[0].type.description }
        return "(" + signature.parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", ") + ")"
    }

    private var callOptions: String { "options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()" }
    private var fanoutOptions: String { "options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()" }

    var declarations: [DeclSyntax] {
        // Each argument is read under the parameter's own source location, so a type that is
        // not Codable is reported where the parameter is written.
        // (A directive only changes the mapping; one closing directive ends it, after the
        // definition when the result's location is in force, else after the reads.)
        let resultLocation = signature.result != nil ? signature.resultLocation : nil
        var readLines: [String] = []
        var mapped = false
        for parameter in signature.parameters {
            if let location = parameter.location {
                readLines.append("#sourceLocation(file: \(location.file), line: \(location.line))")
                mapped = true
            }
            readLines.append("let \(parameter.name): \(parameter.type) = try _kumoReader.next()")
        }
        if mapped {
            readLines.append(resultLocation.map { "#sourceLocation(file: \($0.file), line: \($0.line))" } ?? "#sourceLocation()")
        }
        let reads = readLines.joined(separator: "\n")
        let definitionDecl: DeclSyntax = """
            /// The job `\(raw: signature.qualifiedName)` as nodes know it: list it in `Jobs(…)` on the nodes that run it.
            \(raw: modifiers)let \(raw: definition) = KumoJobs.JobDefinition<\(raw: value)>(
                result: KumoJobs.JobResultCoding<\(raw: value)>.\(raw: signature.result == nil ? "none" : "codable"),
                name: \(raw: nameExpression), function: \(literal: signature.qualifiedName), fileID: #fileID,
                isAsync: \(raw: signature.isAsync ? "true" : "false"), options: \(raw: optionsExpression)
            ) { _kumoReader in
                \(raw: reads)
                try _kumoReader.finish()
                return \(raw: directCall)
            }
            """
        let local: DeclSyntax = """
            /// Runs `\(raw: base)` in a new task on this node and awaits it.
            \(raw: modifiers)func \(raw: base)Local(\(raw: parameterList())) async throws\(raw: returns) {
                try await \(raw: definition).local { \(raw: directCall) }
            }
            """
        let remote: DeclSyntax = """
            /// Runs `\(raw: base)` on the node the placement chooses and awaits it.
            \(raw: modifiers)func \(raw: base)Remote(\(raw: parameterList(callOptions))) async throws\(raw: returns) {
                try await \(raw: definition).remote(options: _kumoOptions) { _kumoArguments in
                    \(raw: appends(from: nil))
                }
            }
            """
        let localAsync: DeclSyntax = """
            /// Starts `\(raw: base)` in a new task on this node.
            \(raw: modifiers)func \(raw: base)LocalAsync(\(raw: parameterList())) -> KumoJobs.JobHandle<\(raw: value)> {
                \(raw: definition).localAsync { \(raw: directCall) }
            }
            """
        let remoteAsync: DeclSyntax = """
            /// Starts `\(raw: base)` on the node the placement chooses.
            \(raw: modifiers)func \(raw: base)RemoteAsync(\(raw: parameterList(callOptions))) -> KumoJobs.JobHandle<\(raw: value)> {
                \(raw: definition).remoteAsync(options: _kumoOptions) { _kumoArguments in
                    \(raw: appends(from: nil))
                }
            }
            """
        // The definition is declared under the result type's source location, so a result that
        // is not Codable is reported where the result type is written.
        var definitions = [definitionDecl]
        // The directive names the line after it; `result:` comes three lines on (a blank line, the
        // doc comment, the `let`).
        if let location = resultLocation, let line = Int(location.line) {
            definitions = [
                DeclSyntax("#sourceLocation(file: \(raw: location.file), line: \(raw: max(1, line - 3)))"),
                definitionDecl,
                DeclSyntax("#sourceLocation()"),
            ]
        }
        guard !signature.parameters.isEmpty else {
            // A job without parameters fans out a number of times.
            let fanouts: [DeclSyntax] = [
                """
                /// Runs `\(raw: base)` `count` times over the nodes; the results in order.
                \(raw: modifiers)func \(raw: base)RemoteFanout(count: Int, \(raw: fanoutOptions)) async throws -> [\(raw: value)] {
                    try await \(raw: definition).fanout(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in }
                }
                """,
                """
                /// Runs `\(raw: base)` `count` times over the nodes; every call's `Result`, in order.
                \(raw: modifiers)func \(raw: base)RemoteFanoutResults(count: Int, \(raw: fanoutOptions)) async -> [Swift.Result<\(raw: value), any Error>] {
                    await \(raw: definition).fanoutResults(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in }
                }
                """,
                """
                /// Runs `\(raw: base)` `count` times over the nodes; each result as it comes, with its index.
                \(raw: modifiers)func \(raw: base)RemoteFanoutStream(count: Int, \(raw: fanoutOptions)) -> AsyncStream<KumoJobs.FanoutItem<\(raw: value)>> {
                    \(raw: definition).fanoutStream(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in }
                }
                """,
            ]
            return definitions + [local, remote, localAsync, remoteAsync] + fanouts
        }
        let fanout: DeclSyntax = """
            /// Runs `\(raw: base)` for each element of `arguments` over the nodes; the results in order.
            \(raw: modifiers)func \(raw: base)RemoteFanout(_ arguments: [\(raw: itemType)], \(raw: fanoutOptions)) async throws -> [\(raw: value)] {
                try await \(raw: definition).fanout(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    \(raw: appends(from: "_kumoItem"))
                }
            }
            """
        let fanoutResults: DeclSyntax = """
            /// Runs `\(raw: base)` for each element of `arguments` over the nodes; every call's `Result`, in order.
            \(raw: modifiers)func \(raw: base)RemoteFanoutResults(_ arguments: [\(raw: itemType)], \(raw: fanoutOptions)) async -> [Swift.Result<\(raw: value), any Error>] {
                await \(raw: definition).fanoutResults(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    \(raw: appends(from: "_kumoItem"))
                }
            }
            """
        let fanoutStream: DeclSyntax = """
            /// Runs `\(raw: base)` for each element of `arguments` over the nodes; each result as it comes, with its index.
            \(raw: modifiers)func \(raw: base)RemoteFanoutStream(_ arguments: [\(raw: itemType)], \(raw: fanoutOptions)) -> AsyncStream<KumoJobs.FanoutItem<\(raw: value)>> {
                \(raw: definition).fanoutStream(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    \(raw: appends(from: "_kumoItem"))
                }
            }
            """
        return definitions + [local, remote, localAsync, remoteAsync, fanout, fanoutResults, fanoutStream]
    }
}
