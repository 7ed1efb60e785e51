import Kumo

/// One job call, as it travels to the worker (`kumo.jobs`).
struct JobRequest: Sendable, Codable {
    var job: String
    var arguments: [UInt8]
    var cost: ComputationCost
}

/// Many calls of one job in one message, each run, failed and answered on its own.
struct JobBatchRequest: Sendable, Codable {
    var job: String
    var items: [[UInt8]]
    var cost: ComputationCost
}

/// How one call ended where it ran.
enum JobOutcome: Sendable, Codable {
    /// The encoded result.
    case value([UInt8])
    /// What the job (or the worker) threw.
    case failure(CarriedError)
}

/// The answer to a ``JobRequest``, with the worker's load after it.
struct JobReply: Sendable, Codable {
    var outcome: JobOutcome
    var load: NodeLoad
}

/// The answer to a ``JobBatchRequest``, in the order of its items.
struct JobBatchReply: Sendable, Codable {
    var outcomes: [JobOutcome]
    var load: NodeLoad
    /// How long the worker took over the batch, queueing under a cap included, in nanoseconds.
    var nanoseconds: UInt64
}

/// Call metadata keys of jobs.
enum JobMetadata {
    /// The id of the job a call runs, so that logs on both sides name it.
    static let jobID = "kumo.job-id"
}
