/// Marks a global or static function as a job and writes, beside it, its variants. For
/// `func square(_ a: Int) -> Int`:
///
/// - `squareJob`: the job's definition, to list in ``Jobs`` on the nodes that run it;
/// - `squareLocal(_:)`: runs it in a new task on this node and awaits it;
/// - `squareRemote(_:options:)`: runs it on the node the placement chooses and awaits it;
/// - `squareLocalAsync(_:)`, `squareRemoteAsync(_:options:)`: start it and return a
///   ``JobHandle``;
/// - `squareRemoteFanout(_:options:)`: runs it for each element of an array over the nodes and
///   returns the results in order (`squareRemoteFanoutResults` keeps every `Result`,
///   `squareRemoteFanoutStream` yields them as they come, with their index).
///
/// A function of several parameters fans out over an array of tuples of them. Parameters and
/// result must be `Codable` and `Sendable`; the function stays callable as itself.
///
/// - Parameters:
///   - name: The job's name on the wire; by default `Module.function(labels:)`.
///   - options: The job's options: timeout, idempotence and retries, a cap on concurrent runs
///     per node, placement, cost.
@attached(
    peer,
    names: suffixed(Job), suffixed(Local), suffixed(Remote), suffixed(LocalAsync), suffixed(RemoteAsync),
    suffixed(RemoteFanout), suffixed(RemoteFanoutResults), suffixed(RemoteFanoutStream)
)
public macro Job(_ name: String? = nil, options: JobOptions = JobOptions()) =
    #externalMacro(module: "KumoJobsMacros", type: "JobMacro")
