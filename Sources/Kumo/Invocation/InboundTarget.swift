import Distributed
import Synchronization

/// A call target as the receiving side of a connection knows it, defined once per connection by
/// a `targetDefinition` frame and shared by every call that uses its id.
///
/// It keeps what the hot path would otherwise recompute per call: the target's parameter and
/// return types, and which actor types were already checked to own the target. The readable
/// (demangled) name is made only when an error needs it.
final class InboundTarget: Sendable {
    let name: String
    /// The target's types, when it is not generic.
    let signature: TargetSignature?
    private let verifiedTypes = Mutex<Set<ObjectIdentifier>>([])

    init(name: String) {
        self.name = name
        self.signature = TargetSignature(mangledName: name)
    }

    /// The target, for `executeDistributedTarget` (a thin wrapper of the name).
    var target: RemoteCallTarget { RemoteCallTarget(name) }

    /// The demangled name, for messages.
    var readableName: String { "\(target)" }

    /// Whether this target is a distributed func of `actorType`. The runtime finds a target by
    /// name alone; checking keeps a call aimed at another type from ever running on an instance.
    func belongs(to actorType: any DistributedActor.Type) -> Bool {
        let key = ObjectIdentifier(actorType)
        if verifiedTypes.withLock({ $0.contains(key) }) { return true }
        guard let typeName = _mangledTypeName(actorType), name.contains(typeName) else { return false }
        verifiedTypes.withLock { _ = $0.insert(key) }
        return true
    }
}
