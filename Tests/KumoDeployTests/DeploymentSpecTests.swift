import Testing

@testable import KumoDeploy

@Suite("Deployment descriptions")
struct DeploymentSpecTests {
    func field(of description: String) -> String? {
        do {
            _ = try Deployment.parse(description)
            return nil
        } catch let error as DeploymentError {
            return error.field
        } catch {
            return "not a DeploymentError: \(error)"
        }
    }

    @Test("a YAML description with only a name and an image gets every default, and says the same in JSON")
    func defaults() throws {
        let deployment = try Deployment.parse("name: shop\nimage: registry.example.com/shop:1\n")
        #expect(deployment.replicas == 3)
        #expect(deployment.executable == "shop")
        #expect(deployment.command == ["node"])
        #expect(deployment.secret == .init(name: "shop-cluster", key: "secret"))
        #expect(deployment.disruptionBudget == 1)
        #expect(try Deployment.parse(try deployment.json()) == deployment)
        for example in Deployment.examples.values { #expect(try Deployment.parse(try example.json()) == example) }
    }

    @Test("bad input is an error naming the field", arguments: [
        ("name: shop\nimage: i\nreplicas: -2\n", "replicas"),
        ("name: shop\nimage: i\nreplicas: 0\n", "replicas"),
        ("name: Shop_1\nimage: i\n", "name"),
        ("name: -shop\nimage: i\n", "name"),
        ("name: \(String(repeating: "a", count: 58))\nimage: i\n", "name"),
        ("name: shop\n", "image"),
        ("name: shop\nimage: i\nports: [{name: http, port: 70000}]\n", "ports[0].port"),
        ("name: shop\nimage: i\nports: [{name: http, port: 0}]\n", "ports[0].port"),
        ("name: shop\nimage: i\nports: [{name: http, port: 80}, {name: web, port: 80}]\n", "ports[1].port"),
        ("name: shop\nimage: i\nports: [{name: HTTP!, port: 80}]\n", "ports[0].name"),
        ("name: shop\nimage: i\nclusterPort: 99999\n", "clusterPort"),
        ("name: shop\nimage: i\nports: [{name: http, port: 80}]\nshards: {pattern: '^/users/([a-z', count: 3, port: http}\n", "shards.pattern"),
        ("name: shop\nimage: i\nports: [{name: http, port: 80}]\nshards: {pattern: '^/users/', count: 3, port: http}\n", "shards.pattern"),
        ("name: shop\nimage: i\nports: [{name: http, port: 80}]\nshards: {pattern: '^/u/(.*)', count: 0, port: http}\n", "shards.count"),
        ("name: shop\nimage: i\nports: [{name: http, port: 80}]\nshards: {pattern: '^/u/(.*)', count: 2, port: grpc}\n", "shards.port"),
        ("name: shop\nimage: i\nresources: {memoryLimit: lots}\n", "resources.memoryLimit"),
        ("name: shop\nimage: i\nenvironment: {KUMO_SECRET: x}\n", "environment.KUMO_SECRET"),
        ("name: shop\nimage: i\nsecret: {name: Not_A_Name}\n", "secret.name"),
        ("name: shop\nimage: i\nreplica: 3\n", "replica"),
        ("name: shop\nimage: i\nreplicas: three\n", "replicas"),
        ("name: shop\nimage: i\nstorage: {size: 1Gi, path: data}\n", "storage.path"),
        ("name: shop\nimage: i\nreplicas: 3\nmaxUnavailable: 4\n", "maxUnavailable"),
    ])
    func badInput(description: String, expected: String) {
        #expect(field(of: description) == expected)
    }

    @Test("the error says what is wrong in words, after the field")
    func errorText() {
        #expect(throws: DeploymentError(field: "replicas", problem: "must be at least 1, not -2")) {
            try Deployment.parse("name: shop\nimage: i\nreplicas: -2\n")
        }
    }
}
