extension Deployment {
    /// The descriptions `kumo deploy manifests --example NAME` writes.
    public static let examples: [String: Deployment] = [
        "sharded-web": .shardedWeb,
        "kv": .kv,
    ]

    /// Metaparticle's sharded web server, in Swift (`Examples/ShardedWeb`): three nodes serve
    /// `/users/NAME/…`, each user's requests on one shard, behind a public sharding front.
    public static let shardedWeb = Deployment(
        name: "sharded-web", image: "registry.example.com/kumo/sharded-web:latest", executable: "kumo-sharded-web",
        arguments: ["--http-port", "8081"], replicas: 3,
        ports: [Port(name: "http", port: 8081)], isPublic: true,
        resources: Resources(cpuRequest: "250m", memoryRequest: "128Mi", cpuLimit: "1", memoryLimit: "256Mi"),
        shards: Shards(pattern: "^/users/([^/?]+)", count: 3, port: "http", frontPort: 8080, frontReplicas: 2))

    /// `kumo-kv`, the sharded, replicated Redis-protocol store: three nodes, each key on two,
    /// each node's data on its own volume; reachable inside the cluster on 6379.
    public static let kv = Deployment(
        name: "kumo-kv", image: "registry.example.com/kumo/kumo-kv:latest", executable: "kumo-kv", command: [],
        arguments: ["--resp-port", "6379", "--replicas", "2", "--data", "/data"], replicas: 3,
        ports: [Port(name: "redis", port: 6379)], isPublic: false,
        resources: Resources(cpuRequest: "500m", memoryRequest: "256Mi", cpuLimit: "2", memoryLimit: "1Gi"),
        storage: Storage(size: "1Gi", path: "/data"))
}
