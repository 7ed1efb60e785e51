@testable import Kumo
import Testing

/// Many nodes' membership logic over an in-memory transport, in virtual time.
@Suite("Membership in simulation", .timeLimit(.minutes(2)))
struct MembershipSimulationTests {
    @Test("200 simulated nodes converge in seconds of virtual time and every one marks a crashed node down")
    func convergence() throws {
        var settings = MembershipSimulation.Settings(nodes: 200)
        settings.window = .seconds(5)
        let report = try MembershipSimulation.run(settings)
        #expect(report.converge < .seconds(30))
        let detect = try #require(report.detect)
        // Downing waits 4 s after the failure detector's verdict; the verdict and the spread of
        // the decision take a few seconds more.
        #expect(detect > .seconds(4) && detect < .seconds(20))
        #expect(report.viewsPerNodePerSecond < 0.05, "a quiet cluster gossips digests, not views")
    }

    @Test("what each node sends per second does not grow with the cluster")
    func flatTraffic() throws {
        var small = MembershipSimulation.Settings(nodes: 30)
        small.crash = false
        var large = small
        large.nodes = 300
        let (few, many) = (try MembershipSimulation.run(small), try MembershipSimulation.run(large))
        let ratio = many.messagesPerNodePerSecond / few.messagesPerNodePerSecond
        #expect(ratio > 0.9 && ratio < 1.1, "per-node traffic at 300 nodes over 30: \(ratio)")
    }
}
