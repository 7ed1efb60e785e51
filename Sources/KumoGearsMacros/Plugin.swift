import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that provides `@Gear`.
@main
struct KumoGearsMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [GearMacro.self]
}
