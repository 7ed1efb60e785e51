import Distributed
import Synchronization

/// A call target as the receiving side of a connection knows it, defined once per connection by
/// a `targetDefinition` frame and shared by every call that uses its id.
///
/// It keeps what the hot path would otherwise recompute per call: the target's parameter and
/// return types, and which actor types were already checked to own the target (or not). The readable
/// (demangled) name is made only when an error or the target's metrics need it.
final class InboundTarget: Sendable {
    let name: String
    /// The target's types, when it is not generic.
    let signature: TargetSignature?

    private struct State {
        /// The verdict of ``belongs(to:)`` for each actor type asked about (a connection sees few).
        var verdicts: [ObjectIdentifier: Bool] = [:]
        /// The callee's metrics for this target, once a call to it has run.
        var calls: CallMetrics?
    }

    private let state = Mutex(State())

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
        admit(actorType).belongs
    }

    /// ``belongs(to:)``, and the callee's metrics for this target when a call to it has run
    /// before (found under the same lock, so a call takes none of its own for them).
    func admit(_ actorType: any DistributedActor.Type) -> (belongs: Bool, calls: CallMetrics?) {
        let key = ObjectIdentifier(actorType)
        let (known, calls) = state.withLock { ($0.verdicts[key], $0.calls) }
        if let known { return (known, calls) }
        let verdict = DeclaringType.declares(actorType, target: name)
        state.withLock { $0.verdicts[key] = verdict }
        return (verdict, calls)
    }

    /// The callee's metrics for this target, which a call has just run: only then is its name
    /// known to be a distributed func of this program (a bounded label value), not something a
    /// peer made up.
    func ranCalls(_ metrics: ClusterMetrics) -> CallMetrics {
        if let calls = state.withLock({ $0.calls }) { return calls }
        let calls = metrics.serverCalls(ran: self)
        state.withLock { $0.calls = calls }
        return calls
    }
}
