// swift-tools-version:6.0
import CompilerPluginSupport
import PackageDescription

/// Compiler settings shared by every target: Swift 6 language mode (the default for tools 6.0)
/// plus the upcoming features the project opts into.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "Kumo",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kumo", targets: ["Kumo"]),
        .library(name: "KumoCore", targets: ["KumoCore"]),
        .library(name: "KumoNode", targets: ["KumoNode"]),
        .library(name: "KumoTestKit", targets: ["KumoTestKit"]),
        .library(name: "KumoJobs", targets: ["KumoJobs"]),
        .library(name: "KumoCRDT", targets: ["KumoCRDT"]),
        .library(name: "KumoGears", targets: ["KumoGears"]),
        .library(name: "KumoDeploy", targets: ["KumoDeploy"]),
        .executable(name: "kumo", targets: ["KumoCLI"]),
        .executable(name: "kumo-bench", targets: ["KumoBench"]),
        .executable(name: "kumo-pythagorean", targets: ["kumo-pythagorean"]),
        .executable(name: "kumo-gears", targets: ["kumo-gears"]),
        .executable(name: "kumo-chat", targets: ["kumo-chat"]),
        .executable(name: "kumo-kv", targets: ["kumo-kv"]),
        .executable(name: "kumo-sharded-web", targets: ["kumo-sharded-web"]),
        .executable(name: "kumo-election", targets: ["kumo-election"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax.git", from: "603.0.1"),
        .package(url: "https://github.com/pointfreeco/swift-macro-testing.git", from: "0.7.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // Meta-computation with no I/O: identities, the binary Codable coder, the frame format.
        .target(
            name: "KumoCore",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The cluster runtime: ClusterSystem, the NIO transport, the handshake, ports.
        .target(
            name: "Kumo",
            dependencies: [
                "KumoCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers for programs and tests that run several nodes: in one process or as OS processes.
        .target(
            name: "KumoTestKit",
            dependencies: ["Kumo", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The node command a program embeds in its own `@main` to run as a cluster node with the
        // flags of `kumo node`, hosting its own actors.
        .target(
            name: "KumoNode",
            dependencies: [
                "Kumo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The compiler plugin behind `@Job`: it writes a job's variants from its signature.
        .macro(
            name: "KumoJobsMacros",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftSyntaxBuilder", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
                .product(name: "SwiftDiagnostics", package: "swift-syntax"),
            ],
            swiftSettings: swiftSettings
        ),
        // The compiler plugin behind `@Gear`: it lists a Code Gear's inputs.
        .macro(
            name: "KumoGearsMacros",
            dependencies: [
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftSyntaxBuilder", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
                .product(name: "SwiftDiagnostics", package: "swift-syntax"),
            ],
            swiftSettings: swiftSettings
        ),
        // Jobs: `@Job` functions run on this node, on another, in the background or fanned out
        // over the cluster. An add-on: it stands on the core's plugin API only.
        .target(
            name: "KumoJobs",
            dependencies: [
                "Kumo",
                "KumoJobsMacros",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // Data and Code Gears, their managers and the Topology Manager (Christie). An add-on: it
        // stands on the core's public API only.
        .target(
            name: "KumoGears",
            dependencies: [
                "Kumo",
                "KumoGearsMacros",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Replicated state: delta CRDTs and the replicator. An add-on: it stands on the core's
        // plugin API only.
        .target(
            name: "KumoCRDT",
            dependencies: [
                "Kumo",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Deployment described in Swift (Metaparticle): Kubernetes manifests from a program's own
        // description, the sharding front, leader election with fencing tokens. An add-on: it
        // stands on the core's public API only.
        .target(
            name: "KumoDeploy",
            dependencies: [
                "Kumo",
                "KumoCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // Small distributed actors the demo, the `kumo node` command and the tests share; not a
        // product.
        .target(
            name: "KumoExamples",
            dependencies: ["Kumo", "KumoJobs", "KumoCRDT"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "KumoCLI",
            dependencies: [
                "Kumo",
                "KumoJobs",
                "KumoCRDT",
                "KumoGears",
                "KumoDeploy",
                "KumoNode",
                "KumoTestKit",
                "KumoExamples",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // lucidity's square and pythagorean, as a program of its own: `swift run kumo-pythagorean`.
        .executableTarget(
            name: "kumo-pythagorean",
            dependencies: [
                "Kumo", "KumoJobs", "KumoNode", "KumoTestKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Pythagorean",
            swiftSettings: swiftSettings
        ),
        // Christie's examples with Data and Code Gears: `swift run kumo-gears`.
        .executableTarget(
            name: "kumo-gears",
            dependencies: [
                "Kumo", "KumoGears", "KumoNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Gears",
            exclude: ["ring.dot"],
            swiftSettings: swiftSettings
        ),
        // Metaparticle's sharded web server and its election example: `swift run kumo-sharded-web`,
        // `swift run kumo-election node …`.
        .executableTarget(
            name: "kumo-sharded-web",
            dependencies: [
                "Kumo", "KumoDeploy", "KumoNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Examples/ShardedWeb",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kumo-election",
            dependencies: [
                "Kumo", "KumoDeploy", "KumoNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Election",
            swiftSettings: swiftSettings
        ),
        // The peer-to-peer chat server of Cloud Haskell's chapter 14, on Kumo's public API: the
        // server as a library the tests drive, and the `kumo-chat` program.
        .target(
            name: "KumoChatServer",
            dependencies: [
                "Kumo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Apps/Chat/Server",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kumo-chat",
            dependencies: [
                "Kumo", "KumoChatServer", "KumoNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Apps/Chat/Main",
            swiftSettings: swiftSettings
        ),
        // The key-value store of Cloud Haskell's chapter 14, grown into a sharded, replicated
        // Redis-protocol store on Kumo's public API: the store as a library the tests drive,
        // and the `kumo-kv` program.
        .target(
            name: "KumoKV",
            dependencies: [
                "Kumo", "KumoCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            path: "Apps/KV/Store",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "kumo-kv",
            dependencies: [
                "Kumo", "KumoKV", "KumoNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Apps/KV/Main",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "KumoBench",
            dependencies: [
                "Kumo",
                "KumoJobs",
                "KumoCRDT",
                "KumoGears",
                "KumoTestKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoChatTests",
            dependencies: [
                "Kumo", "KumoChatServer", "KumoTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoKVTests",
            dependencies: [
                "Kumo", "KumoKV", "KumoTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoDeployTests",
            dependencies: [
                "Kumo", "KumoDeploy", "KumoNode", "KumoTestKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Snapshots"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoGearsTests",
            dependencies: ["Kumo", "KumoGears", "KumoTestKit"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoCRDTTests",
            dependencies: [
                "Kumo", "KumoCRDT", "KumoTestKit",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoGearsMacrosTests",
            dependencies: [
                "KumoGearsMacros",
                .product(name: "MacroTesting", package: "swift-macro-testing"),
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacrosTestSupport", package: "swift-syntax"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoJobsMacrosTests",
            dependencies: [
                "KumoJobsMacros",
                .product(name: "MacroTesting", package: "swift-macro-testing"),
                .product(name: "SwiftSyntaxMacrosTestSupport", package: "swift-syntax"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoJobsTests",
            dependencies: [
                "Kumo", "KumoJobs", "KumoTestKit", "KumoTestJobs",
                // Built for the tests that run it as an OS process (found beside the test bundle).
                "KumoTestNode",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoCoreTests",
            dependencies: ["KumoCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // A module of its own for the confused-target test: an actor type whose mangled name
        // appears inside other modules' thunk names.
        .target(
            name: "VictimKit",
            dependencies: ["Kumo"],
            path: "Tests/VictimKit",
            swiftSettings: swiftSettings
        ),
        // A program of the tests' own that embeds the node command (`KumoTestNode node …`) and
        // hosts its own actor, `counter`, from a module the tests share with it.
        .target(
            name: "KumoTestNodeActors",
            dependencies: ["Kumo"],
            path: "Tests/KumoTestNodeActors",
            swiftSettings: swiftSettings
        ),
        // Jobs the tests run in one process and in `KumoTestNode`.
        .target(
            name: "KumoTestJobs",
            dependencies: ["Kumo", "KumoJobs"],
            path: "Tests/KumoTestJobs",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "KumoTestNode",
            dependencies: [
                "Kumo", "KumoNode", "KumoTestNodeActors", "KumoJobs", "KumoTestJobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Tests/KumoTestNode",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KumoTests",
            dependencies: [
                "Kumo", "KumoCore", "KumoTestKit", "KumoExamples", "VictimKit",
                // Built for the tests that run it as an OS process (found beside the test bundle).
                "KumoTestNode", "KumoTestNodeActors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
