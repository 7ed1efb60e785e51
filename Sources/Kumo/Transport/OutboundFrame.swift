import KumoCore
import NIOCore

/// A frame on its way out: its encoded bytes and, for an `attached` frame, the byte arrays that
/// follow them on the wire (see `AttachedFrame`). The arrays are sent from their own storage,
/// a chunk at a time, never copied whole.
struct OutboundFrame: Sendable {
    /// The frame's bytes (for an attached frame: its header and inner frame).
    var head: ByteBuffer
    /// The arrays sent after ``head``, in order.
    var attachments: [[UInt8]]

    /// A frame with no attachments.
    init(_ bytes: ByteBuffer) {
        head = bytes
        attachments = []
    }

    /// An attached frame: `head` must end with its inner frame, and its header must give the
    /// lengths of `attachments`.
    init(head: ByteBuffer, attachments: [[UInt8]]) {
        self.head = head
        self.attachments = attachments
    }

    /// Bytes on the wire.
    var size: Int { attachments.reduce(head.readableBytes) { $0 + $1.count } }

    /// All of the frame in one buffer (copies the attachments; for frames small enough to be
    /// written whole).
    func flattened() -> ByteBuffer {
        guard !attachments.isEmpty else { return head }
        var whole = head
        whole.reserveCapacity(minimumWritableBytes: size - head.readableBytes)
        for attachment in attachments { whole.writeBytes(attachment) }
        return whole
    }

    /// Wraps an encoded frame (`inner`, length prefix included) and the attachments its values
    /// refer to into an attached frame; `inner` itself when there are none.
    ///
    /// The attached header goes into the room `inner` leaves before its reader index when it
    /// fits there (encoders leave headroom), so the frame is not copied.
    static func wrapping(_ inner: consuming ByteBuffer, attachments: [[UInt8]]) -> OutboundFrame {
        var head = inner
        guard !attachments.isEmpty else { return OutboundFrame(head) }
        var header = ByteBufferAllocator().buffer(capacity: Frame.headerSize + 10 * (attachments.count + 1))
        AttachedFrame.writeHeader(
            innerFrameLength: head.readableBytes, attachmentLengths: attachments.map(\.count), to: &header)
        if header.readableBytes <= head.readerIndex {
            let start = head.readerIndex - header.readableBytes
            head.setBuffer(header, at: start)
            head.moveReaderIndex(to: start)
        } else {
            header.writeImmutableBuffer(head)
            head = header
        }
        return OutboundFrame(head: head, attachments: attachments)
    }
}
