import KumoGearsMacros
import MacroTesting
import SwiftSyntaxMacroExpansion
import Testing

@Suite("@Gear expansion", .macros(["Gear": MacroSpec(type: GearMacro.self, conformances: ["CodeGear"])], record: .missing))
struct GearMacroTests {
    @Test("lists the wrapped properties in declaration order and conforms the struct")
    func inputs() {
        assertMacro {
            """
            @Gear
            struct Add {
                @Take("a") var a: Int
                @KumoGears.Peek("b") var b: Int
                @RemoteTake("peer", "c") var c: Int
                let limit: Int
                @State var other: Int
                func run(_ cgm: CodeGearManager) async throws {}
            }
            """
        } expansion: {
            """
            struct Add {
                @Take("a") var a: Int
                @KumoGears.Peek("b") var b: Int
                @RemoteTake("peer", "c") var c: Int
                let limit: Int
                @State var other: Int
                func run(_ cgm: CodeGearManager) async throws {}

                /// The gear's inputs, written by `@Gear`: its `@Take`, `@Peek`, `@RemoteTake` and `@RemotePeek` properties.
                var inputs: [any KumoGears.GearInput] {
                    [_a, _b, _c]
                }
            }

            extension Add: KumoGears.CodeGear {
            }
            """
        }
    }

    @Test("refuses what is not a struct, and a gear that lists its inputs itself")
    func refusals() {
        assertMacro {
            """
            @Gear
            class Worker {}
            """
        } diagnostics: {
            """
            @Gear
            ┬────
            ╰─ 🛑 @Gear applies to a struct
            class Worker {}
            """
        }
        assertMacro {
            """
            @Gear
            struct Listed {
                @Take("x") var x: Int
                var inputs: [any GearInput] { [_x] }
            }
            """
        } diagnostics: {
            """
            @Gear
            struct Listed {
                @Take("x") var x: Int
                var inputs: [any GearInput] { [_x] }
                ┬───────────────────────────────────
                ╰─ 🛑 @Gear writes `inputs`; remove this one, or remove @Gear and list every input here
            }
            """
        }
    }
}
