import Kumo

/// A job that did not produce its result, with what happened, to which job and on which node.
///
/// An error the job itself threw reaches the caller as itself when its type is `Codable` and
/// known to the caller; a `JobError` with code ``Code/failed`` carries the description of any
/// other. Two job errors are equal when their codes and job names are.
public struct JobError: Error, Sendable, Codable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added.
    public struct Code: Sendable, Codable, Hashable, CustomStringConvertible {
        enum Value: String, Sendable, Codable {
            case unknownJob, nodeLost, timedOut, overloaded, cancelled, noNodes, noCluster
            case failed, argumentsMalformed, resultMalformed, notAccepting
        }
        let value: Value

        /// The node that was asked to run the job has no job of that name.
        public static let unknownJob = Code(value: .unknownJob)
        /// The node running the job died or became unreachable before the job returned.
        public static let nodeLost = Code(value: .nodeLost)
        /// The job did not return within its timeout (it was cancelled where it ran).
        public static let timedOut = Code(value: .timedOut)
        /// The node's queue for the job was full.
        public static let overloaded = Code(value: .overloaded)
        /// The caller cancelled the job.
        public static let cancelled = Code(value: .cancelled)
        /// No node can run the job (none runs jobs, or the pinned node is not a member).
        public static let noNodes = Code(value: .noNodes)
        /// No cluster is reachable from this task: call inside ``Jobs/withCluster(_:_:)``, or
        /// run exactly one node with ``Jobs`` installed in the process.
        public static let noCluster = Code(value: .noCluster)
        /// The job threw an error that cannot be re-thrown as itself here; the message has its
        /// type and description.
        public static let failed = Code(value: .failed)
        /// The job's arguments could not be decoded where it ran.
        public static let argumentsMalformed = Code(value: .argumentsMalformed)
        /// The job's result could not be decoded by the caller.
        public static let resultMalformed = Code(value: .resultMalformed)
        /// The node is leaving the cluster and takes no new jobs.
        public static let notAccepting = Code(value: .notAccepting)

        public var description: String { value.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The job's stable name.
    public var job: String
    /// The node the job was sent to or ran on, when one was chosen.
    public var node: NodeID?
    /// A readable account of the failure.
    public var message: String

    /// Creates a job error.
    public init(_ code: Code, job: String, node: NodeID?, _ message: String) {
        self.code = code
        self.job = job
        self.node = node
        self.message = message
    }

    public var description: String {
        var text = "JobError.\(code): job \(job)"
        if let node { text += " on node \(node)" }
        return text + ": \(message)"
    }

    public static func == (lhs: JobError, rhs: JobError) -> Bool { lhs.code == rhs.code && lhs.job == rhs.job }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(job)
    }

    /// Whether the job never started running, so sending it elsewhere is safe for any job.
    var neverRan: Bool { code == .overloaded || code == .notAccepting }
}
