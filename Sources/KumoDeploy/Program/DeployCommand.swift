import ArgumentParser
import Foundation

/// A program that describes its own deployment.
public protocol DeployableProgram {
    /// How the program runs in production.
    static var deployment: Deployment { get }
}

/// `deploy`, the subcommand a program embeds to export its description and write its
/// manifests from its own code:
///
/// ```swift
/// @main
/// struct MyApp: AsyncParsableCommand, DeployableProgram {
///     static let configuration = CommandConfiguration(subcommands: [Node.self, DeployCommand<MyApp>.self])
///     static let deployment = Deployment(name: "myapp", image: "registry.example.com/myapp:1")
/// }
/// ```
///
/// `myapp deploy describe` prints the description as JSON (what `kumo deploy manifests --spec`
/// reads); `myapp deploy manifests --out DIR` writes the manifests.
public struct DeployCommand<Program: DeployableProgram>: ParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "deploy",
            abstract: "Describe how this program runs on Kubernetes, or write its manifests.",
            subcommands: [Describe.self, WriteManifests.self])
    }

    public init() {}

    /// `deploy describe`: the description as JSON on standard output.
    public struct Describe: ParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: "describe", abstract: "Print this program's deployment description as JSON.")
        }

        public init() {}

        public func run() throws {
            let deployment = Program.deployment
            try deployment.validate()
            print(try deployment.json())
        }
    }

    /// `deploy manifests --out DIR`.
    public struct WriteManifests: ParsableCommand {
        public static var configuration: CommandConfiguration {
            CommandConfiguration(commandName: "manifests", abstract: "Write this program's Dockerfile and Kubernetes manifests.")
        }

        @Option(help: "The directory to write them to (made if missing).")
        var out: String

        public init() {}

        public func run() throws {
            for name in try Manifests(Program.deployment).write(to: out) { print(name) }
        }
    }
}

extension Manifests {
    /// Writes every file into `directory` (made if missing); the paths written.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let files = try files()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var written: [String] = []
            for file in files {
                let path = (directory as NSString).appendingPathComponent(file.name)
                try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
                written.append(path)
            }
            return written
        } catch {
            throw DeploymentError(field: "out", problem: "cannot write to \(directory): \(error.localizedDescription)")
        }
    }
}
