#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The raw TCP floor: blocking sockets with TCP_NODELAY and no framing beyond a fixed size.
enum RawTCPEcho {
    static let messageSize = 64

    /// Peer side: listens on 127.0.0.1 (a free port), prints it, echoes 64-byte messages on one
    /// connection until it closes.
    static func serve() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BenchError("socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw BenchError("bind/listen failed: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        print("kumo-bench peer ready: \(UInt16(bigEndian: address.sin_port)) 0")
        fflush(nil)
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { throw BenchError("accept failed: \(errno)") }
        setNoDelay(connection)
        var buffer = [UInt8](repeating: 0, count: messageSize)
        while readExactly(connection, &buffer) {
            guard writeAll(connection, buffer) else { break }
        }
        close(connection)
        close(listener)
    }

    /// Driver side: connects and returns the socket.
    static func connect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw BenchError("connect failed: \(errno)") }
        setNoDelay(fd)
        return fd
    }

    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func readExactly(_ fd: Int32, _ buffer: inout [UInt8]) -> Bool {
        var offset = 0
        let count = buffer.count
        while offset < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + offset, count - offset) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ buffer: [UInt8]) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + offset, buffer.count - offset) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
