import Foundation

/// Metaparticle's shardSpec pattern: a regular expression whose first capture, found in a
/// request's path, is the key that picks the request's shard.
public struct ShardPattern: Sendable {
    /// The expression as given.
    public let source: String
    private let expression: NSRegularExpression

    /// Compiles `source` (ICU syntax); it must have at least one capture group.
    /// - Throws: ``DeploymentError`` for the field `shards.pattern`.
    public init(_ source: String) throws {
        let expression: NSRegularExpression
        do {
            expression = try NSRegularExpression(pattern: source)
        } catch {
            throw DeploymentError(field: "shards.pattern", problem: "'\(source)' is not a valid regular expression")
        }
        guard expression.numberOfCaptureGroups >= 1 else {
            throw DeploymentError(field: "shards.pattern", problem: "'\(source)' has no capture group: its first capture is the shard key")
        }
        self.source = source
        self.expression = expression
    }

    /// The first capture of the pattern in `path`, or `nil` when it does not match (or the group
    /// took no part in the match).
    public func key(in path: String) -> Substring? {
        let range = NSRange(path.startIndex..<path.endIndex, in: path)
        guard let match = expression.firstMatch(in: path, range: range), match.numberOfRanges > 1,
            let captured = Range(match.range(at: 1), in: path)
        else { return nil }
        return path[captured]
    }
}
