/// How a Kumo program runs in production, described in its own Swift code (Metaparticle's idea):
/// the container, its replicas and ports, whether it is public, its resources and environment,
/// the cluster secret, and the shards of a sharded front.
///
/// ```swift
/// let web = Deployment(name: "sharded-web", image: "registry.example.com/sharded-web:1.0",
///                      executable: "kumo-sharded-web", replicas: 3,
///                      ports: [.init(name: "http", port: 8080)], isPublic: true,
///                      shards: .init(pattern: "^/users/([^/]+)", count: 3, port: "http"))
/// try web.validate()
/// let files = try Manifests(web).files   // Dockerfile, StatefulSet, Services, …
/// ```
///
/// A program exports its description with ``DeployCommand`` (`myapp deploy describe` prints it
/// as JSON); a YAML or JSON file states it as well (``Deployment/load(from:)``). Every field but
/// `name` and `image` has a default.
public struct Deployment: Sendable, Equatable, Codable {
    /// The application's name: a DNS label (lowercase letters, digits and `-`, at most 57
    /// characters, so that `NAME-peers` is one too). Every object is named after it.
    public var name: String
    /// The container image the manifests run (built from the Dockerfile they come with).
    public var image: String
    /// The SwiftPM executable product the image builds and runs. Default: `name`.
    public var executable: String
    /// The arguments that make the executable run a node, before the node's flags: `["node"]`
    /// for a program that embeds ``KumoNode/NodeProgram`` as its `node` subcommand (default),
    /// `[]` for one whose root command is the node.
    public var command: [String]
    /// More arguments, after the node's flags (the program's own options).
    public var arguments: [String]
    /// How many pods (cluster nodes). Default 3.
    public var replicas: Int
    /// The port the nodes talk to each other on. Default 7000.
    public var clusterPort: Int
    /// The port of the node's health endpoint (`/healthz`, `/readyz`, `/leave`). Default 8558.
    public var healthPort: Int
    /// The ports clients use, served by the client Service.
    public var ports: [Port]
    /// Whether the client Service is reachable from outside the cluster (a LoadBalancer) or only
    /// inside it (ClusterIP). Default `false`.
    public var isPublic: Bool
    /// CPU and memory requests and limits, in Kubernetes' quantities (`500m`, `256Mi`).
    public var resources: Resources
    /// Environment variables of the container.
    public var environment: [String: String]
    /// The Kubernetes Secret that holds the cluster secret (given to the node as `KUMO_SECRET`).
    public var secret: SecretReference
    /// Shards: requests routed by a URL pattern to one of `count` shards, through a sharding
    /// front (`kumo shard-front`) in front of the pods. Default none.
    public var shards: Shards?
    /// A persistent volume for each pod (a StatefulSet's volume claim), mounted at `path`.
    public var storage: Storage?
    /// Seconds a pod has to leave the cluster when it is stopped. Default 30.
    public var terminationGracePeriodSeconds: Int
    /// How many pods may be down at once by a voluntary disruption (a drain, an upgrade); the
    /// PodDisruptionBudget keeps the others, so that a majority stays. Default: the most that
    /// keeps a majority of `replicas` up (at least 1).
    public var maxUnavailable: Int?
    /// The Swift image that builds the program (the Dockerfile's builder stage).
    public var builderImage: String
    /// The image the program runs in (the Dockerfile's slim stage).
    public var runtimeImage: String
    /// A Secret of type `kubernetes.io/dockerconfigjson` to pull the image with, if the registry
    /// needs credentials.
    public var imagePullSecret: String?

    /// A port clients use.
    public struct Port: Sendable, Equatable, Codable {
        /// Its name: an IANA service name (lowercase letters, digits and `-`, at most 15
        /// characters, at least one letter).
        public var name: String
        /// Its number, 1–65535.
        public var port: Int

        public init(name: String, port: Int) {
            self.name = name
            self.port = port
        }
    }

    /// CPU and memory, requested (what the scheduler reserves) and limited.
    public struct Resources: Sendable, Equatable, Codable {
        public var cpuRequest: String?
        public var memoryRequest: String?
        public var cpuLimit: String?
        public var memoryLimit: String?

        public init(cpuRequest: String? = nil, memoryRequest: String? = nil, cpuLimit: String? = nil, memoryLimit: String? = nil) {
            self.cpuRequest = cpuRequest
            self.memoryRequest = memoryRequest
            self.cpuLimit = cpuLimit
            self.memoryLimit = memoryLimit
        }

        var isEmpty: Bool { cpuRequest == nil && memoryRequest == nil && cpuLimit == nil && memoryLimit == nil }
    }

    /// A key of a Kubernetes Secret.
    public struct SecretReference: Sendable, Equatable, Codable {
        /// The Secret's name (a DNS subdomain).
        public var name: String
        /// The key whose value is the cluster secret.
        public var key: String

        public init(name: String, key: String = "secret") {
            self.name = name
            self.key = key
        }
    }

    /// Metaparticle's shardSpec: the first capture of `pattern` in a request's path picks one of
    /// `count` shards, each served by one live pod.
    public struct Shards: Sendable, Equatable, Codable {
        /// A regular expression with at least one capture group, matched against the path.
        public var pattern: String
        /// How many shards, at least 1.
        public var count: Int
        /// The name of the port (one of ``Deployment/ports``) the pods serve the shards on.
        public var port: String
        /// The port the sharding front listens on. Default 8080.
        public var frontPort: Int
        /// How many sharding fronts. Default 2.
        public var frontReplicas: Int

        public init(pattern: String, count: Int, port: String, frontPort: Int = 8080, frontReplicas: Int = 2) {
            self.pattern = pattern
            self.count = count
            self.port = port
            self.frontPort = frontPort
            self.frontReplicas = frontReplicas
        }
    }

    /// A persistent volume per pod.
    public struct Storage: Sendable, Equatable, Codable {
        /// Its size, a Kubernetes quantity (`1Gi`).
        public var size: String
        /// Where it is mounted in the container.
        public var path: String
        /// The storage class; default the cluster's.
        public var storageClass: String?

        public init(size: String, path: String, storageClass: String? = nil) {
            self.size = size
            self.path = path
            self.storageClass = storageClass
        }
    }

    /// A description with the defaults above for every field not given.
    public init(
        name: String, image: String, executable: String? = nil, command: [String] = ["node"], arguments: [String] = [],
        replicas: Int = 3, clusterPort: Int = 7000, healthPort: Int = 8558, ports: [Port] = [], isPublic: Bool = false,
        resources: Resources = Resources(), environment: [String: String] = [:], secret: SecretReference? = nil,
        shards: Shards? = nil, storage: Storage? = nil, terminationGracePeriodSeconds: Int = 30, maxUnavailable: Int? = nil,
        builderImage: String = Deployment.defaultBuilderImage, runtimeImage: String = Deployment.defaultRuntimeImage,
        imagePullSecret: String? = nil
    ) {
        self.name = name
        self.image = image
        self.executable = executable ?? name
        self.command = command
        self.arguments = arguments
        self.replicas = replicas
        self.clusterPort = clusterPort
        self.healthPort = healthPort
        self.ports = ports
        self.isPublic = isPublic
        self.resources = resources
        self.environment = environment
        self.secret = secret ?? SecretReference(name: "\(name)-cluster")
        self.shards = shards
        self.storage = storage
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.maxUnavailable = maxUnavailable
        self.builderImage = builderImage
        self.runtimeImage = runtimeImage
        self.imagePullSecret = imagePullSecret
    }

    /// `swift:6.3-noble`: the toolchain the program is built with.
    public static let defaultBuilderImage = "swift:6.3-noble"
    /// `swift:6.3-noble-slim`: the Swift runtime without the toolchain.
    public static let defaultRuntimeImage = "swift:6.3-noble-slim"

    /// The headless Service the nodes find each other through (Kumo's DNS discovery).
    public var peerServiceName: String { "\(name)-peers" }

    /// The PodDisruptionBudget's bound: ``maxUnavailable``, or the most pods that may go while a
    /// majority stays up.
    public var disruptionBudget: Int { maxUnavailable ?? max(1, (replicas - 1) / 2) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, image, executable, command, arguments, replicas, clusterPort, healthPort, ports
        case isPublic = "public"
        case resources, environment, secret, shards, storage, terminationGracePeriodSeconds, maxUnavailable
        case builderImage, runtimeImage, imagePullSecret
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try Self.refuseUnknownKeys(decoder)
        let name = try container.decode(String.self, forKey: .name)
        self.init(
            name: name,
            image: try container.decode(String.self, forKey: .image),
            executable: try container.decodeIfPresent(String.self, forKey: .executable),
            command: try container.decodeIfPresent([String].self, forKey: .command) ?? ["node"],
            arguments: try container.decodeIfPresent([String].self, forKey: .arguments) ?? [],
            replicas: try container.decodeIfPresent(Int.self, forKey: .replicas) ?? 3,
            clusterPort: try container.decodeIfPresent(Int.self, forKey: .clusterPort) ?? 7000,
            healthPort: try container.decodeIfPresent(Int.self, forKey: .healthPort) ?? 8558,
            ports: try container.decodeIfPresent([Port].self, forKey: .ports) ?? [],
            isPublic: try container.decodeIfPresent(Bool.self, forKey: .isPublic) ?? false,
            resources: try container.decodeIfPresent(Resources.self, forKey: .resources) ?? Resources(),
            environment: try container.decodeIfPresent([String: String].self, forKey: .environment) ?? [:],
            secret: try container.decodeIfPresent(SecretReference.self, forKey: .secret),
            shards: try container.decodeIfPresent(Shards.self, forKey: .shards),
            storage: try container.decodeIfPresent(Storage.self, forKey: .storage),
            terminationGracePeriodSeconds: try container.decodeIfPresent(Int.self, forKey: .terminationGracePeriodSeconds) ?? 30,
            maxUnavailable: try container.decodeIfPresent(Int.self, forKey: .maxUnavailable),
            builderImage: try container.decodeIfPresent(String.self, forKey: .builderImage) ?? Self.defaultBuilderImage,
            runtimeImage: try container.decodeIfPresent(String.self, forKey: .runtimeImage) ?? Self.defaultRuntimeImage,
            imagePullSecret: try container.decodeIfPresent(String.self, forKey: .imagePullSecret))
    }

    /// A misspelt field is an error naming it, not a default silently taken.
    private static func refuseUnknownKeys(_ decoder: any Decoder) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = any.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DeploymentError(field: unknown, problem: "is not a field of a deployment (the fields: \(known.sorted().joined(separator: ", ")))")
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension Deployment.Shards {
    enum CodingKeys: String, CodingKey { case pattern, count, port, frontPort, frontReplicas }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            pattern: try container.decode(String.self, forKey: .pattern),
            count: try container.decode(Int.self, forKey: .count),
            port: try container.decode(String.self, forKey: .port),
            frontPort: try container.decodeIfPresent(Int.self, forKey: .frontPort) ?? 8080,
            frontReplicas: try container.decodeIfPresent(Int.self, forKey: .frontReplicas) ?? 2)
    }
}

extension Deployment.SecretReference {
    enum CodingKeys: String, CodingKey { case name, key }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name), key: try container.decodeIfPresent(String.self, forKey: .key) ?? "secret")
    }
}
