import Distributed
import Synchronization

/// A call target as the receiving side of a connection knows it, defined once per connection by
/// a `targetDefinition` frame and shared by every call that uses its id.
///
/// It keeps what the hot path would otherwise recompute per call: the target's parameter and
/// return types, and which actor types were already checked to own the target (or not). The readable
/// (demangled) name is made only when an error needs it.
final class InboundTarget: Sendable {
    let name: String
    /// The target's types, when it is not generic.
    let signature: TargetSignature?
    /// The verdict of ``belongs(to:)`` for each actor type asked about (a connection sees few).
    private let verdicts = Mutex<[ObjectIdentifier: Bool]>([:])

    init(name: String) {
        self.name = name
        // A name the runtime must not see (see ``MangledName``) gets no signature, and
        // ``belongs(to:)`` refuses it.
        self.signature = MangledName.isPlain(name) ? TargetSignature(mangledName: name) : nil
    }

    /// The target, for `executeDistributedTarget` (a thin wrapper of the name).
    var target: RemoteCallTarget { RemoteCallTarget(name) }

    /// The demangled name, for messages.
    var readableName: String { "\(target)" }

    /// Whether this target is a distributed func declared by `actorType` itself (see
    /// ``DeclaringType``). The runtime finds a target by name alone and would run it on any
    /// instance; checking keeps a call aimed at another type from ever running, and from
    /// crashing the node by reading that type's state out of the wrong object.
    func belongs(to actorType: any DistributedActor.Type) -> Bool {
        let key = ObjectIdentifier(actorType)
        if let known = verdicts.withLock({ $0[key] }) { return known }
        let verdict = DeclaringType.declares(actorType, target: name)
        verdicts.withLock { $0[key] = verdict }
        return verdict
    }
}
