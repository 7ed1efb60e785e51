#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Swift runtime's demangler (exported by the standard library, which declares it the same way).
@_silgen_name("swift_demangle")
private func runtimeDemangle(
    _ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: UInt, _ outputBuffer: UnsafeMutablePointer<CChar>?,
    _ outputBufferSize: UnsafeMutablePointer<UInt>?, _ flags: UInt32
) -> UnsafeMutablePointer<CChar>?

/// Decides whether a distributed thunk is declared by a given actor type, exactly.
///
/// The runtime finds a call target by its mangled name alone and runs it on whatever instance it
/// is given, so a target must be checked against the addressed actor's type before it runs: a
/// thunk of another type reads that type's stored properties out of the wrong object and crashes
/// the node. A substring test of mangled names is not enough, because a parameter type's name
/// appears inside the thunk's name too (`Auditor.audit(_: Vault)` contains `Vault`).
///
/// Both names go through the runtime's demangler, so they print their contexts the same way
/// (modules, nested and private types, local types): the thunk's declaration context must be
/// the actor type itself, with its generic arguments left out, optionally through an extension
/// in another module, and what follows must be the function's own name — not a nested type.
enum DeclaringType {
    /// Whether `targetName` (a distributed thunk's mangled name) is a distributed func of `actorType`.
    static func declares(_ actorType: Any.Type, target targetName: String) -> Bool {
        guard MangledName.isPlain(targetName), targetName.hasPrefix("$s"),
            let thunkText = demangle(targetName), thunkText.hasPrefix(thunkPrefix)
        else { return false }
        var declaration = Substring(thunkText.dropFirst(thunkPrefix.count))
        // A distributed func in an extension declared in another module.
        if declaration.hasPrefix("(extension in "), let end = declaration.range(of: "):") {
            declaration = declaration[end.upperBound...]
        }
        let context = withoutGenericArguments(declaration)
        guard let owner = printedName(of: actorType) else { return false }
        return isMember(context, of: owner)
    }

    /// How the demangler prints `type`'s name, generic arguments left out.
    ///
    /// A private type prints as `Module.(unknown context at $…).Name`, where its thunks print
    /// `Module.(Name in _DISCRIMINATOR)`: the runtime keeps no file discriminator for the type
    /// itself, so the check can only require the thunk to be a member of *a* private type of that
    /// name in that place. Two private distributed actors of one name in one module are therefore
    /// not told apart (docs/wire.md); local types (declared inside a function) are refused.
    private static func printedName(of type: Any.Type) -> Owner? {
        guard let typeName = _mangledTypeName(type), let text = demangle("$s" + typeName + "N"),
            text.hasPrefix(typeMetadataPrefix)
        else { return nil }
        var rest = withoutGenericArguments(text.dropFirst(typeMetadataPrefix.count))[...]
        var parts: [Owner.Part] = []
        while let unknown = rest.range(of: "(unknown context at ") {
            guard let close = rest[unknown.upperBound...].range(of: ").") else { return nil }
            let nameStart = close.upperBound
            let nameEnd = rest[nameStart...].firstIndex(of: ".") ?? rest.endIndex
            guard nameEnd > nameStart else { return nil }
            parts.append(.literal(String(rest[..<unknown.lowerBound])))
            parts.append(.privateType(String(rest[nameStart..<nameEnd])))
            rest = rest[nameEnd...]
        }
        parts.append(.literal(String(rest)))
        return Owner(parts: parts)
    }

    /// A type's printed name, with private contexts to match by name.
    struct Owner {
        enum Part {
            case literal(String)
            /// `(Name in _DISCRIMINATOR)` for any discriminator.
            case privateType(String)
        }
        var parts: [Part]

        /// What follows the owner's name at the start of `text`, or `nil` if `text` does not
        /// start with it.
        func remainder(of text: Substring) -> Substring? {
            var text = text
            for part in parts {
                switch part {
                case .literal(let literal):
                    guard text.hasPrefix(literal) else { return nil }
                    text = text.dropFirst(literal.count)
                case .privateType(let name):
                    let opening = "(\(name) in _"
                    guard text.hasPrefix(opening), let close = text.firstIndex(of: ")") else { return nil }
                    let discriminator = text[text.index(text.startIndex, offsetBy: opening.count)..<close]
                    guard !discriminator.isEmpty, discriminator.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
                    text = text[text.index(after: close)...]
                }
            }
            return text
        }
    }

    /// Whether the declaration `context` (`Module.Type.function(…) …`) is a function of `owner`
    /// itself: its base name follows at once, then its parameters. A dot before them would make
    /// it a member of a type nested inside `owner`.
    private static func isMember(_ context: String, of owner: Owner) -> Bool {
        guard let after = owner.remainder(of: context[...]), after.hasPrefix(".") else { return false }
        let rest = after.dropFirst()
        guard let parameters = rest.firstIndex(of: "("), parameters > rest.startIndex else { return false }
        return !rest[..<parameters].contains(".")
    }

    private static let thunkPrefix = "distributed thunk "
    private static let typeMetadataPrefix = "type metadata for "

    /// `text` with every `<…>` clause removed (generic arguments and parameters).
    static func withoutGenericArguments(_ text: some StringProtocol) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var depth = 0
        var previous: Character = " "
        for character in text {
            switch character {
            case "<": depth += 1
            case ">" where depth > 0 && previous != "-": depth -= 1  // not the arrow of "->"
            default: if depth == 0 { result.append(character) }
            }
            previous = character
        }
        return result
    }

    /// The demangled form of a mangled symbol, or `nil` when the runtime cannot demangle it.
    static func demangle(_ mangled: String) -> String? {
        let utf8 = Array(mangled.utf8CString)
        guard let raw = utf8.withUnsafeBufferPointer({ runtimeDemangle($0.baseAddress, UInt(utf8.count - 1), nil, nil, 0) })
        else { return nil }
        defer { free(raw) }
        let text = String(cString: raw)
        // The demangler hands back its input when it cannot make sense of it.
        return text == mangled ? nil : text
    }
}

/// Names that go to the runtime's type lookup and demangler.
enum MangledName {
    /// Whether `name` is printable ASCII only. Mangled names that reach the runtime from a peer
    /// must be: the control bytes 0x01–0x1F introduce symbolic references, raw pointers into
    /// this process's memory that the runtime would follow.
    static func isPlain(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
