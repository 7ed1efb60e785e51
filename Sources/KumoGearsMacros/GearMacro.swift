import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@Gear` on a struct: conforms it to `CodeGear` and writes its `inputs`, the properties
/// declared with `@Take`, `@Peek`, `@RemoteTake` and `@RemotePeek`, in declaration order, so
/// that no input is found by reflection and none can be left out of a hand-written list.
public struct GearMacro: MemberMacro, ExtensionMacro {
    /// The input wrappers, by the names they may be spelled with.
    static let wrappers: Set<String> = ["Take", "Peek", "RemoteTake", "RemotePeek"]

    public static func expansion(
        of node: AttributeSyntax, providingMembersOf declaration: some DeclGroupSyntax,
        conformingTo protocols: [TypeSyntax], in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let structure = declaration.as(StructDeclSyntax.self) else {
            context.diagnose(Diagnostic(node: node, message: GearDiagnostic.notAStruct))
            return []
        }
        if let existing = member(named: "inputs", of: structure) {
            context.diagnose(Diagnostic(node: existing, message: GearDiagnostic.listsInputs))
            return []
        }
        let names = inputNames(of: structure)
        let list = names.map { "_\($0)" }.joined(separator: ", ")
        return [
            """
            /// The gear's inputs, written by `@Gear`: its `@Take`, `@Peek`, `@RemoteTake` and \
            `@RemotePeek` properties.
            var inputs: [any KumoGears.GearInput] { [\(raw: list)] }
            """
        ]
    }

    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        guard declaration.is(StructDeclSyntax.self), !protocols.isEmpty else { return [] }
        return [try ExtensionDeclSyntax("extension \(type.trimmed): KumoGears.CodeGear {}")]
    }

    /// The stored properties that carry an input wrapper, in declaration order.
    static func inputNames(of structure: StructDeclSyntax) -> [String] {
        structure.memberBlock.members.flatMap { item -> [String] in
            guard let variable = item.decl.as(VariableDeclSyntax.self),
                variable.attributes.contains(where: isInputWrapper)
            else { return [] }
            return variable.bindings.compactMap { $0.pattern.as(IdentifierPatternSyntax.self)?.identifier.text }
        }
    }

    private static func isInputWrapper(_ element: AttributeListSyntax.Element) -> Bool {
        guard case .attribute(let attribute) = element else { return false }
        let name = attribute.attributeName.trimmedDescription
        let last = name.split(separator: ".").last.map(String.init) ?? name
        return wrappers.contains(last) && (name == last || name == "KumoGears.\(last)")
    }

    private static func member(named name: String, of structure: StructDeclSyntax) -> VariableDeclSyntax? {
        for item in structure.memberBlock.members {
            guard let variable = item.decl.as(VariableDeclSyntax.self) else { continue }
            if variable.bindings.contains(where: { $0.pattern.as(IdentifierPatternSyntax.self)?.identifier.text == name }) {
                return variable
            }
        }
        return nil
    }
}

/// What `@Gear` refuses.
enum GearDiagnostic: String, DiagnosticMessage {
    case notAStruct
    case listsInputs

    var message: String {
        switch self {
        case .notAStruct: "@Gear applies to a struct"
        case .listsInputs: "@Gear writes `inputs`; remove this one, or remove @Gear and list every input here"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "KumoGears", id: rawValue) }
    var severity: DiagnosticSeverity { .error }
}
