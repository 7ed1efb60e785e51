import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that provides `@Job`.
@main
struct KumoJobsMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [JobMacro.self]
}
