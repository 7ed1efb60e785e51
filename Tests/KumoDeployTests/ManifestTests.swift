import Foundation
import KumoTestKit
import Testing

@testable import KumoDeploy

/// The manifests of the two examples, compared with the files under `Snapshots/` (rewrite them
/// with `KUMO_UPDATE_SNAPSHOTS=1 swift test --filter ManifestTests`) and validated by
/// `kubernetes-validate --strict` (PyPI; `.ci/run` installs it).
@Suite("Kubernetes manifests", .timeLimit(.minutes(2)))
struct ManifestTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    /// `kubernetes-validate` on the PATH, or its module run by `python3` (pip may put the
    /// script where the PATH does not look).
    static let validator: [String]? = {
        if let path = which("kubernetes-validate") { return [path] }
        if let python = which("python3"), let (status, _) = try? runToEndBlocking(python, ["-c", "import kubernetes_validate"]), status == 0 {
            return [python, "-m", "kubernetes_validate"]
        }
        return nil
    }()

    @Test("each example's files are what the snapshot says", arguments: Deployment.examples.keys.sorted())
    func snapshot(example: String) throws {
        let deployment = try #require(Deployment.examples[example])
        let files = try Manifests(deployment).files()
        let directory = Self.snapshots.appendingPathComponent(example)
        if ProcessInfo.processInfo.environment["KUMO_UPDATE_SNAPSHOTS"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for file in files { try file.contents.write(to: directory.appendingPathComponent(file.name), atomically: true, encoding: .utf8) }
        }
        let expected = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(files.map(\.name).sorted() == expected)
        for file in files {
            let snapshot = try String(contentsOf: directory.appendingPathComponent(file.name), encoding: .utf8)
            #expect(file.contents == snapshot, "\(example)/\(file.name) differs from its snapshot")
        }
        if deployment.shards != nil {
            #expect(files.contains { $0.name == "front.yaml" })
            #expect(try Manifests(deployment).dockerfile.contains("--product kumo\n"))
        }
    }

    @Test("every manifest passes kubernetes-validate --strict; a wrong field does not",
          .enabled(if: validator != nil, "kubernetes-validate is not installed (pip install kubernetes-validate)"))
    func validate() async throws {
        let validator = try #require(Self.validator)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kumo-manifests-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for (name, deployment) in Deployment.examples {
            paths += try Manifests(deployment).write(to: directory.appendingPathComponent(name).path).filter { $0.hasSuffix(".yaml") }
        }
        let (status, output) = try await runToEnd(validator[0], Array(validator.dropFirst()) + ["--strict"] + paths)
        #expect(status == 0, "\(output)")
        #expect(output.components(separatedBy: "passed").count - 1 == paths.count, "\(output)")
        // The validator refuses what Kubernetes would: a misspelt field.
        let wrong = directory.appendingPathComponent("wrong.yaml")
        let statefulSet = try String(contentsOfFile: try #require(paths.first { $0.hasSuffix("statefulset.yaml") }), encoding: .utf8)
        try statefulSet.replacingOccurrences(of: "serviceName:", with: "serviceNmae:").write(to: wrong, atomically: true, encoding: .utf8)
        let (refused, _) = try await runToEnd(validator[0], Array(validator.dropFirst()) + ["--strict", wrong.path])
        #expect(refused != 0)
    }

    @Test("kumo deploy manifests writes the example's files; an invalid spec exits 64 naming the field")
    func command() async throws {
        let kumo = siblingExecutable(named: "kumo", override: "KUMO_BINARY")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kumo-deploy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, output) = try await runToEnd(kumo, ["deploy", "manifests", "--example", "kv", "--out", directory.path])
        #expect(status == 0, "\(output)")
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(written == ["Dockerfile", "pdb.yaml", "service-peers.yaml", "service.yaml", "serviceaccount.yaml", "statefulset.yaml"])
        let spec = directory.appendingPathComponent("bad.yaml")
        try "name: shop\nimage: registry.example.com/shop:1\nreplicas: -1\n".write(to: spec, atomically: true, encoding: .utf8)
        let (refused, message) = try await runToEnd(kumo, ["deploy", "manifests", "--spec", spec.path, "--out", directory.appendingPathComponent("out").path])
        #expect(refused == 64)
        #expect(message.contains("replicas: must be at least 1, not -1"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("out").path))
    }
}

/// The first `name` on the PATH.
func which(_ name: String) -> String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .map { "\($0)/\(name)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}
