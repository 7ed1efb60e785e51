import Synchronization

/// Byte arrays that travel beside an encoding instead of inside it.
///
/// A large `[UInt8]` copied into an encoding costs a pass over fresh memory on the way in and
/// another on the way out. When ``BinaryEncoder/attachmentThreshold`` is set, the encoder leaves
/// every `[UInt8]` longer than the threshold where it is: it writes a reference (`attachment k`)
/// in the array's place and hands the array itself to the caller, which sends it on its own (the
/// transport streams it straight from and into array storage). The decoder takes attachment `k`
/// back from a ``BinaryAttachments`` value when it meets the reference. See docs/serialization.md.
///
/// Each attachment can be taken once: the decoder moves the array out, so the store keeps no
/// reference to the value it returns (whoever made the arrays may: a node receiving large arrays
/// keeps one to reuse their memory, see `ClusterSettings.reuseReceivedArrays`). Decoding the same
/// reference a second time (a `try?` that falls back to another type, a key decoded twice) is
/// therefore an error for a byte array above the threshold, where it would succeed for a smaller
/// one: decode each value once.
public final class BinaryAttachments: Sendable {
    private let slots: Mutex<[[UInt8]?]>

    /// No attachments.
    public static var none: BinaryAttachments { BinaryAttachments([]) }

    /// Wraps the attachments of one encoding, in the order the encoder produced them.
    public init(_ arrays: [[UInt8]]) {
        slots = Mutex(arrays.map { $0 })
    }

    /// How many attachments there are (taken or not).
    public var count: Int { slots.withLock { $0.count } }

    /// Moves attachment `index` out; `nil` if there is no such attachment or it was taken before.
    public func take(_ index: Int) -> [UInt8]? {
        slots.withLock { slots in
            guard slots.indices.contains(index) else { return nil }
            defer { slots[index] = nil }
            return slots[index]
        }
    }
}

/// How a reference to an attachment is written: in place of a byte block's varint length, the
/// value `marker + k`. A real length that large can never fit in an input, so a decoder that does
/// not expect attachments rejects the reference as a truncated block.
enum CoderAttachment {
    static let marker: UInt64 = 1 << 62

    /// The attachment index a block length stands for, or `nil` when it is an ordinary length.
    @inline(__always)
    static func index(fromLength length: UInt64) -> Int? {
        length >= marker ? Int(clamping: length - marker) : nil
    }
}
