import ArgumentParser
import KumoDeploy

/// `kumo deploy`: Kubernetes manifests from a deployment description.
struct KumoDeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Turn a deployment description into what Kubernetes runs.",
        subcommands: [Manifests.self, Describe.self])

    /// Where the description comes from: a file, or one of the examples.
    struct Source: ParsableArguments {
        @Option(help: "A deployment description, YAML or JSON (`myapp deploy describe` prints one).")
        var spec: String?

        @Option(help: "One of the examples instead: \(Deployment.examples.keys.sorted().joined(separator: ", ")).")
        var example: String?

        func validate() throws {
            guard (spec == nil) != (example == nil) else { throw ValidationError("give --spec FILE or --example NAME") }
            if let example, Deployment.examples[example] == nil {
                throw ValidationError("--example must be one of \(Deployment.examples.keys.sorted().joined(separator: ", ")), not '\(example)'")
            }
        }

        func deployment() throws -> Deployment {
            let deployment: Deployment
            if let example, let known = Deployment.examples[example] {
                deployment = known
            } else if let spec {
                deployment = try Deployment.load(from: spec)
            } else {
                throw ValidationError("give --spec FILE or --example NAME")
            }
            try deployment.validate()
            return deployment
        }
    }

    struct Manifests: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "manifests",
            abstract: "Write a Dockerfile and the Kubernetes manifests (StatefulSet, Services, PodDisruptionBudget, …).",
            discussion: "An invalid description fails with exit status 64 and the field that is wrong.")

        @OptionGroup var source: Source

        @Option(help: "The directory to write them to (made if missing).")
        var out: String

        func run() throws {
            do {
                for path in try KumoDeploy.Manifests(try source.deployment()).write(to: out) { print(path) }
            } catch let error as DeploymentError {
                throw ValidationError("invalid deployment: \(error)")
            }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe",
            abstract: "Print a description as JSON, every default filled in (it is checked first).")

        @OptionGroup var source: Source

        func run() throws {
            do {
                print(try source.deployment().json())
            } catch let error as DeploymentError {
                throw ValidationError("invalid deployment: \(error)")
            }
        }
    }
}
