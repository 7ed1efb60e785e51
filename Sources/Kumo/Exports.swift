// `import Kumo` is all a program needs: the `distributed` language feature, and Kumo's core
// types, listed one by one (the wire's frame types stay inside the package).
@_exported import Distributed
@_exported import class KumoCore.BinaryAttachments
@_exported import struct KumoCore.ActorID
@_exported import struct KumoCore.BinaryDecoder
@_exported import struct KumoCore.BinaryEncoder
@_exported import struct KumoCore.CallMetadata
@_exported import struct KumoCore.FNV1a
@_exported import struct KumoCore.NodeAddress
@_exported import struct KumoCore.NodeID
@_exported import struct KumoCore.ProtocolVersion
@_exported import struct KumoCore.WireError
