import Distributed
@testable import Kumo
import KumoCore
import KumoTestKit
import Testing
import VictimKit

/// An actor whose distributed func takes a `Vault`: its thunk's mangled name contains
/// `9VictimKit5VaultC`, the mangled name of the other module's actor type.
distributed actor Auditor {
    typealias ActorSystem = ClusterSystem

    /// More state than a `Vault` has: run on a vault, `audit` would read past it.
    private var ledger: [String: [Int]] = ["opening": [1, 2, 3]]
    private var notes: [String] = ["audited"]

    distributed func audit(_ vault: Vault) -> Int {
        ledger.values.reduce(0) { $0 + $1.count } + notes.count
    }

    /// A distributed actor declared inside another: its thunks start with `Auditor`'s context.
    distributed actor Clerk {
        typealias ActorSystem = ClusterSystem
        distributed func stamp() -> Int { 7 }
    }
}

/// A generic distributed actor: its thunks name the unbound type.
distributed actor Box<Value: Codable & Sendable> {
    typealias ActorSystem = ClusterSystem
    var value: Value
    init(value: Value, actorSystem: ClusterSystem) {
        self.value = value
        self.actorSystem = actorSystem
    }
    distributed func get() -> Value { value }
}

private distributed actor Hidden {
    typealias ActorSystem = ClusterSystem
    distributed func peek() -> Int { 1 }
}

extension Vault {
    /// A distributed func of `Vault` declared in another module.
    distributed func inspect() -> Int { 1 }
}

@Suite("A call target runs only on an actor of the type that declares it", .timeLimit(.minutes(1)))
struct TargetCheckTests {
    /// The thunk of `Auditor.audit(_:)`, as the runtime names it.
    static let auditThunk = "$s9KumoTests7AuditorC5auditySi9VictimKit5VaultCYaKFTE"

    @Test("a thunk is declared by its own type only: not by a parameter's type, nor by an outer type")
    func declaringType() {
        #expect(DeclaringType.declares(Auditor.self, target: Self.auditThunk))
        #expect(!DeclaringType.declares(Vault.self, target: Self.auditThunk))
        let stamp = "$s9KumoTests7AuditorC5ClerkC5stampSiyYaKFTE"
        #expect(DeclaringType.declares(Auditor.Clerk.self, target: stamp))
        #expect(!DeclaringType.declares(Auditor.self, target: stamp))
        #expect(!DeclaringType.declares(Auditor.self, target: "not a mangled name"))
        #expect(!DeclaringType.declares(Auditor.self, target: ""))
        // Control bytes start symbolic references (pointers) in mangled names: never demangled.
        #expect(!MangledName.isPlain("$s\u{1}\u{0}\u{0}\u{0}\u{0}"))
        #expect(!DeclaringType.declares(Auditor.self, target: "$s\u{1}\u{7f}\u{7f}\u{7f}\u{7f}"))
        #expect(MangledName.isPlain(Self.auditThunk))
    }

    @Test("calls on generic, private and extended actors still pass the check")
    func legitimateShapes() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let box = Box(value: "boxed", actorSystem: nodes[0])
            let remoteBox = try Box<String>.resolve(id: box.id, using: nodes[1])
            #expect(try await remoteBox.get() == "boxed")
            let hidden = Hidden(actorSystem: nodes[0])
            #expect(try await Hidden.resolve(id: hidden.id, using: nodes[1]).peek() == 1)
            let vault = Vault(actorSystem: nodes[0])
            let remoteVault = try Vault.resolve(id: vault.id, using: nodes[1])
            #expect(try await remoteVault.inspect() == 1)
            #expect(try await remoteVault.open() == 42)
            let clerk = Auditor.Clerk(actorSystem: nodes[0])
            #expect(try await Auditor.Clerk.resolve(id: clerk.id, using: nodes[1]).stamp() == 7)
        }
    }

    @Test("a peer that aims Auditor.audit at a Vault gets unknownTarget, and the node keeps serving")
    func confusedTarget() async throws {
        try await withLocalCluster(nodes: 2) { nodes in
            let (victim, peer) = (nodes[0], nodes[1])
            let vault = Vault(actorSystem: victim)
            let auditor = Auditor(actorSystem: victim)
            let remoteVault = try Vault.resolve(id: vault.id, using: peer)
            let remoteAuditor = try Auditor.resolve(id: auditor.id, using: peer)

            // The name is the real thunk: aimed at an Auditor, the raw call runs it.
            #expect(try await Self.rawAudit(on: remoteAuditor, passing: remoteVault, using: peer) == 4)

            // Aimed at a Vault, it is refused instead of run on the wrong object.
            do {
                _ = try await Self.rawAudit(on: remoteVault, passing: remoteVault, using: peer)
                Issue.record("a Vault ran Auditor.audit")
            } catch let error as ClusterError {
                #expect(error.code == .unknownTarget)
                #expect(error.message.contains("Auditor.audit"), "\(error)")
                #expect(error.message.contains("Vault"), "\(error)")
            }
            // Nested-type confusion is refused too.
            let clerk = Auditor.Clerk(actorSystem: victim)
            let stamp = RemoteCallTarget("$s9KumoTests7AuditorC5ClerkC5stampSiyYaKFTE")
            var invocation = peer.makeInvocationEncoder()
            try invocation.doneRecording()
            await #expect(throws: ClusterError(.unknownTarget, "")) {
                _ = try await peer.remoteCall(
                    on: remoteAuditor, target: stamp, invocation: &invocation, throwing: Never.self, returning: Int.self)
            }
            _ = clerk
            // A well-formed name of the right type that the program has no function for.
            var ghost = peer.makeInvocationEncoder()
            try ghost.doneRecording()
            do {
                _ = try await peer.remoteCall(
                    on: remoteAuditor, target: RemoteCallTarget("$s9KumoTests7AuditorC5ghostSiyYaKFTE"),
                    invocation: &ghost, throwing: Never.self, returning: Int.self)
                Issue.record("a function that does not exist ran")
            } catch let error as ClusterError {
                #expect(error.code == .unknownTarget, "\(error)")
                #expect(error.message.contains("ghost"), "\(error)")
            }

            // The node and every actor on it keep serving.
            #expect(try await remoteVault.open() == 42)
            #expect(try await remoteAuditor.audit(remoteVault) == 4)
        }
    }

    /// Sends a call of `Auditor.audit(_:)`'s thunk to `actor`, whatever its type, as a peer may.
    static func rawAudit<Act: DistributedActor>(on actor: Act, passing vault: Vault, using system: ClusterSystem)
        async throws -> Int where Act.ActorSystem == ClusterSystem
    {
        var invocation = system.makeInvocationEncoder()
        try invocation.recordArgument(RemoteCallArgument(label: nil, name: "vault", value: vault))
        try invocation.recordReturnType(Int.self)
        try invocation.doneRecording()
        return try await system.remoteCall(
            on: actor, target: RemoteCallTarget(auditThunk), invocation: &invocation, throwing: Never.self,
            returning: Int.self)
    }
}
