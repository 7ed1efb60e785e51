import Yams

/// What Kubernetes runs for a ``Deployment``, written from the description alone (no Docker
/// daemon, no cluster): a Dockerfile, and the objects as YAML.
///
/// - `Dockerfile`: builds the executable in a Swift builder stage, runs it in a slim stage as an
///   unprivileged user.
/// - `serviceaccount.yaml`: the pods' account, with no API token mounted — Kumo's discovery is
///   DNS, so the nodes need no Kubernetes API and no RBAC.
/// - `service-peers.yaml`: the headless Service the nodes find each other through (`--dns`),
///   publishing pods before they are ready, so that a starting cluster can form.
/// - `statefulset.yaml`: the nodes, with stable names, the cluster secret from its Secret, the
///   pod IP as the advertised address, readiness (`/readyz`) and liveness (`/healthz`) probes on
///   the node's health endpoint, a preStop hook (`/leave`) and a grace period so that a pod
///   leaves the cluster gracefully, and a volume claim when there is storage.
/// - `service.yaml`: the client Service (a LoadBalancer when public).
/// - `pdb.yaml`: a PodDisruptionBudget that keeps a majority up through drains.
/// - `front.yaml` (with shards): the sharding fronts, `kumo shard-front`, in front of the pods.
public struct Manifests: Sendable {
    /// The description the files come from.
    public let deployment: Deployment

    /// - Throws: ``DeploymentError`` when the description is invalid.
    public init(_ deployment: Deployment) throws {
        try deployment.validate()
        self.deployment = deployment
    }

    /// Every file, by name, in the order they are applied.
    public func files() throws -> [(name: String, contents: String)] {
        var files: [(String, String)] = [
            ("Dockerfile", dockerfile),
            ("serviceaccount.yaml", try yaml(serviceAccount)),
            ("service-peers.yaml", try yaml(peerService)),
            ("statefulset.yaml", try yaml(statefulSet)),
            ("service.yaml", try yaml(clientService)),
            ("pdb.yaml", try yaml(disruptionBudget)),
        ]
        if let front { files.append(("front.yaml", try yaml(front))) }
        return files
    }

    private var d: Deployment { deployment }

    private func labels(_ component: String) -> [String: String] {
        ["app.kubernetes.io/name": d.name, "app.kubernetes.io/component": component, "app.kubernetes.io/managed-by": "kumo"]
    }

    private func yaml(_ value: some Encodable) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return "# Written by `kumo deploy manifests` from the deployment \(d.name).\n" + (try encoder.encode(value))
    }

    // MARK: The image

    /// The Dockerfile: a builder stage and a slim stage.
    public var dockerfile: String {
        var products = [d.executable]
        if d.shards != nil, d.executable != "kumo" { products.append("kumo") }
        let builds = products.map { "RUN swift build -c release --static-swift-stdlib --product \($0)" }.joined(separator: "\n")
        let copies = products.map { "    && cp \"$(swift build -c release --show-bin-path)/\($0)\" /staging/" }.joined(separator: " \\\n")
        let exposed = ([d.clusterPort, d.healthPort] + d.ports.map(\.port) + (d.shards.map { [$0.frontPort] } ?? [])).map(String.init).joined(separator: " ")
        return """
            # Written by `kumo deploy manifests` from the deployment \(d.name).
            # Build it from the root of the Swift package, with any OCI builder (no Docker daemon is
            # needed to write it; docker, podman, buildah or kaniko build it):
            #   docker build -f Dockerfile -t \(d.image) .

            FROM \(d.builderImage) AS build
            WORKDIR /build
            # The dependencies first: they stay cached while only the sources change.
            COPY Package.swift Package.resolved* ./
            RUN swift package resolve
            COPY . .
            \(builds)
            RUN mkdir /staging \\
            \(copies)

            FROM \(d.runtimeImage)
            RUN useradd --system --uid 10001 --no-create-home kumo
            COPY --from=build /staging/ /app/
            USER 10001
            EXPOSE \(exposed)
            ENTRYPOINT ["/app/\(d.executable)"]

            """
    }

    // MARK: The objects

    private var serviceAccount: K8s.ServiceAccount {
        K8s.ServiceAccount(metadata: .init(name: d.name, labels: labels("node")))
    }

    private var peerService: K8s.Service {
        K8s.Service(
            metadata: .init(name: d.peerServiceName, labels: labels("node")),
            spec: .init(
                clusterIP: "None", publishNotReadyAddresses: true, selector: labels("node"),
                ports: [K8s.ServicePort(name: "cluster", port: d.clusterPort, targetPort: "cluster")]))
    }

    private var nodeArguments: [String] {
        d.command + [
            "--name", "$(POD_NAME)",
            "--host", "0.0.0.0",
            "--port", "\(d.clusterPort)",
            "--dns", "\(d.peerServiceName):\(d.clusterPort)",
            "--health-port", "\(d.healthPort)",
        ] + d.arguments
    }

    private var environment: [K8s.EnvVar] {
        [
            K8s.EnvVar(name: "POD_NAME", valueFrom: .init(fieldRef: .init(fieldPath: "metadata.name"))),
            K8s.EnvVar(name: "KUMO_ADVERTISE_HOST", valueFrom: .init(fieldRef: .init(fieldPath: "status.podIP"))),
            K8s.EnvVar(name: "KUMO_SECRET", valueFrom: .init(secretKeyRef: .init(name: d.secret.name, key: d.secret.key))),
        ] + d.environment.keys.sorted().map { K8s.EnvVar(name: $0, value: d.environment[$0]) }
    }

    private var resources: K8s.Resources? {
        guard !d.resources.isEmpty else { return nil }
        var requests: [String: String] = [:]
        var limits: [String: String] = [:]
        requests["cpu"] = d.resources.cpuRequest
        requests["memory"] = d.resources.memoryRequest
        limits["cpu"] = d.resources.cpuLimit
        limits["memory"] = d.resources.memoryLimit
        return K8s.Resources(requests: requests.isEmpty ? nil : requests, limits: limits.isEmpty ? nil : limits)
    }

    private var statefulSet: K8s.StatefulSet {
        let container = K8s.Container(
            name: "node", image: d.image, args: nodeArguments,
            ports: [
                K8s.ContainerPort(name: "cluster", containerPort: d.clusterPort),
                K8s.ContainerPort(name: "health", containerPort: d.healthPort),
            ] + d.ports.map { K8s.ContainerPort(name: $0.name, containerPort: $0.port) },
            env: environment, resources: resources,
            readinessProbe: K8s.Probe(httpGet: .init(path: "/readyz", port: "health"), periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 3),
            livenessProbe: K8s.Probe(httpGet: .init(path: "/healthz", port: "health"), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3),
            lifecycle: K8s.Lifecycle(preStop: .init(httpGet: .init(path: "/leave", port: "health"))),
            volumeMounts: d.storage.map { [K8s.VolumeMount(name: "data", mountPath: $0.path)] })
        let claims = d.storage.map { storage in
            [K8s.PersistentVolumeClaim(
                metadata: .init(name: "data", labels: labels("node")),
                spec: .init(accessModes: ["ReadWriteOnce"], storageClassName: storage.storageClass, resources: .init(requests: ["storage": storage.size])))]
        }
        return K8s.StatefulSet(
            metadata: .init(name: d.name, labels: labels("node")),
            spec: .init(
                serviceName: d.peerServiceName, replicas: d.replicas, selector: .init(matchLabels: labels("node")),
                template: .init(
                    metadata: .init(name: d.name, labels: labels("node")),
                    spec: .init(
                        serviceAccountName: d.name, terminationGracePeriodSeconds: d.terminationGracePeriodSeconds,
                        imagePullSecrets: d.imagePullSecret.map { [K8s.NameReference(name: $0)] }, containers: [container])),
                volumeClaimTemplates: claims))
    }

    private var clientService: K8s.Service {
        let ports: [K8s.ServicePort]
        let selector: [String: String]
        if let shards = d.shards {
            let port = d.ports.first { $0.name == shards.port }?.port ?? shards.frontPort
            ports = [K8s.ServicePort(name: shards.port, port: port, targetPort: "front")]
            selector = labels("front")
        } else {
            ports = d.ports.map { K8s.ServicePort(name: $0.name, port: $0.port, targetPort: $0.name) }
            selector = labels("node")
        }
        return K8s.Service(
            metadata: .init(name: d.name, labels: labels(d.shards == nil ? "node" : "front")),
            spec: .init(type: d.isPublic ? "LoadBalancer" : "ClusterIP", selector: selector, ports: ports))
    }

    private var disruptionBudget: K8s.PodDisruptionBudget {
        K8s.PodDisruptionBudget(
            metadata: .init(name: d.name, labels: labels("node")),
            spec: .init(maxUnavailable: d.disruptionBudget, selector: .init(matchLabels: labels("node"))))
    }

    /// The sharding fronts: `kumo shard-front` over the pods' stable names.
    private var front: K8s.Deployment? {
        guard let shards = d.shards, let port = d.ports.first(where: { $0.name == shards.port }) else { return nil }
        let backends = (0..<d.replicas).flatMap { ["--backend", "\(d.name)-\($0).\(d.peerServiceName):\(port.port)"] }
        let container = K8s.Container(
            name: "front", image: d.image, command: ["/app/kumo"],
            args: ["shard-front", "--host", "0.0.0.0", "--listen", "\(shards.frontPort)", "--pattern", shards.pattern, "--shards", "\(shards.count)"] + backends,
            ports: [K8s.ContainerPort(name: "front", containerPort: shards.frontPort)],
            env: [],
            readinessProbe: K8s.Probe(httpGet: .init(path: "/_kumo/shards", port: "front"), periodSeconds: 5, timeoutSeconds: 1, failureThreshold: 3),
            livenessProbe: K8s.Probe(httpGet: .init(path: "/_kumo/shards", port: "front"), initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3))
        return K8s.Deployment(
            metadata: .init(name: "\(d.name)-front", labels: labels("front")),
            spec: .init(
                replicas: shards.frontReplicas, selector: .init(matchLabels: labels("front")),
                template: .init(
                    metadata: .init(name: "\(d.name)-front", labels: labels("front")),
                    spec: .init(serviceAccountName: d.name, terminationGracePeriodSeconds: 10, containers: [container]))))
    }
}
