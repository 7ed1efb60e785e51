import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxMacros

/// What `@Job` needs to know of the function it marks, read from its syntax.
struct JobSignature {
    struct Parameter {
        /// The argument label (`nil` for `_`).
        let label: String?
        /// The name the generated code binds the argument to.
        let name: String
        let type: TypeSyntax
        let defaultValue: InitializerClauseSyntax?
        /// Where the parameter's type is written (`#sourceLocation` arguments), so that the
        /// compiler reports a type that is not `Codable` there.
        let location: (file: String, line: String)?
    }

    let name: String
    let parameters: [Parameter]
    /// `nil` for a function that returns nothing.
    let result: TypeSyntax?
    /// Where the result type is written (see ``Parameter/location``).
    let resultLocation: (file: String, line: String)?
    let isAsync: Bool
    let isThrowing: Bool
    let isStatic: Bool
    /// The enclosing types, outermost first, for a static function.
    let typePath: [String]
    /// Access and other modifiers the variants copy (`public`, `static`, …).
    let modifiers: DeclModifierListSyntax

    /// `square(_:)`, `Math.square(_:)`: the function's name as the job's default name uses it.
    var qualifiedName: String {
        let labels = parameters.map { ($0.label ?? "_") + ":" }.joined()
        return (typePath + ["\(name)(\(labels))"]).joined(separator: ".")
    }

    /// Reads `declaration`, or reports what makes it unfit for a job and returns `nil`.
    static func read(
        _ declaration: some DeclSyntaxProtocol, in context: some MacroExpansionContext
    ) -> JobSignature? {
        guard let function = declaration.as(FunctionDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: declaration, message: JobDiagnostic.notAFunction))
            return nil
        }
        var refusals: [Diagnostic] = []
        func refuse(_ node: some SyntaxProtocol, _ message: JobDiagnostic) {
            refusals.append(Diagnostic(node: node, message: message))
        }

        let isStatic = function.modifiers.contains { $0.name.tokenKind == .keyword(.static) || $0.name.tokenKind == .keyword(.class) }
        var typePath: [String] = []
        for enclosing in context.lexicalContext {
            if enclosing.is(FunctionDeclSyntax.self) || enclosing.is(ClosureExprSyntax.self)
                || enclosing.is(AccessorDeclSyntax.self) || enclosing.is(InitializerDeclSyntax.self)
            {
                refuse(function.name, .localFunction)
                break
            }
            if let name = typeName(of: enclosing) { typePath.insert(name, at: 0) }
        }
        if !typePath.isEmpty, !isStatic { refuse(function.name, .instanceMethod) }
        if let generics = function.genericParameterClause { refuse(generics, .generic) }
        if let throwsClause = function.signature.effectSpecifiers?.throwsClause, throwsClause.type != nil {
            refuse(throwsClause, .typedThrows)
        }

        var parameters: [Parameter] = []
        for (index, parameter) in function.signature.parameterClause.parameters.enumerated() {
            if parameter.ellipsis != nil { refuse(parameter, .variadicParameter) }
            if let problem = problem(with: parameter.type, asResult: false) { refuse(parameter, problem) }
            let label = parameter.firstName.tokenKind == .wildcard ? nil : parameter.firstName.text
            let inner = parameter.secondName ?? parameter.firstName
            let name = inner.tokenKind == .wildcard ? "_kumoArgument\(index)" : inner.text
            let location = context.location(of: parameter.type, at: .afterLeadingTrivia, filePathMode: .filePath)
                .map { (file: $0.file.trimmedDescription, line: $0.line.trimmedDescription) }
            parameters.append(Parameter(
                label: label, name: name, type: parameter.type.trimmed, defaultValue: parameter.defaultValue,
                location: location))
        }

        var result: TypeSyntax?
        var resultLocation: (file: String, line: String)?
        if let type = function.signature.returnClause?.type {
            resultLocation = context.location(of: type, at: .afterLeadingTrivia, filePathMode: .filePath)
                .map { (file: $0.file.trimmedDescription, line: $0.line.trimmedDescription) }
            if let problem = problem(with: type, asResult: true) { refuse(type, problem) }
            if !isVoid(type) { result = type.trimmed }
        }
        guard refusals.isEmpty else {
            for refusal in refusals { context.diagnose(refusal) }
            return nil
        }

        let modifiers = function.modifiers.filter { modifier in
            switch modifier.name.tokenKind {
            case .keyword(.public), .keyword(.package), .keyword(.internal), .keyword(.fileprivate),
                .keyword(.private), .keyword(.static), .keyword(.nonisolated):
                true
            default:
                false
            }
        }
        return JobSignature(
            name: function.name.text, parameters: parameters, result: result, resultLocation: resultLocation,
            isAsync: function.signature.effectSpecifiers?.asyncSpecifier != nil,
            isThrowing: function.signature.effectSpecifiers?.throwsClause != nil,
            isStatic: isStatic, typePath: typePath,
            modifiers: DeclModifierListSyntax(modifiers.map { $0.trimmed.with(\.trailingTrivia, .space) }))
    }

    /// Why `type` can never be `Codable`, when the syntax alone shows it.
    private static func problem(with type: TypeSyntax, asResult: Bool) -> JobDiagnostic? {
        if let attributed = type.as(AttributedTypeSyntax.self) {
            if attributed.specifiers.contains(where: {
                if case .simpleTypeSpecifier(let specifier) = $0 { return specifier.specifier.tokenKind == .keyword(.inout) }
                return false
            }) {
                return .inoutParameter
            }
            return problem(with: attributed.baseType, asResult: asResult)
        }
        if type.is(FunctionTypeSyntax.self) { return asResult ? .functionResult : .functionParameter }
        if let someOrAny = type.as(SomeOrAnyTypeSyntax.self) {
            if someOrAny.someOrAnySpecifier.tokenKind == .keyword(.some) { return asResult ? .opaqueResult : .opaqueParameter }
            return asResult ? .existentialResult : .existentialParameter
        }
        if type.is(MetatypeTypeSyntax.self) { return asResult ? .metatypeResult : .metatypeParameter }
        if let tuple = type.as(TupleTypeSyntax.self) {
            if tuple.elements.count == 1, let only = tuple.elements.first { return problem(with: only.type, asResult: asResult) }
            if tuple.elements.isEmpty { return asResult ? nil : .tupleParameter }
            return asResult ? .tupleResult : .tupleParameter
        }
        return nil
    }

    private static func isVoid(_ type: TypeSyntax) -> Bool {
        if let tuple = type.as(TupleTypeSyntax.self), tuple.elements.isEmpty { return true }
        if let identifier = type.as(IdentifierTypeSyntax.self), identifier.name.text == "Void" { return true }
        return false
    }

    private static func typeName(of node: Syntax) -> String? {
        if let decl = node.as(StructDeclSyntax.self) { return decl.name.text }
        if let decl = node.as(EnumDeclSyntax.self) { return decl.name.text }
        if let decl = node.as(ClassDeclSyntax.self) { return decl.name.text }
        if let decl = node.as(ActorDeclSyntax.self) { return decl.name.text }
        if let decl = node.as(ExtensionDeclSyntax.self) { return decl.extendedType.trimmedDescription }
        return nil
    }
}
