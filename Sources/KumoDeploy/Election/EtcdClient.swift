import Kumo
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The few etcd v3 calls an election needs, through etcd's HTTP/JSON gateway (`/v3/…`): leases,
/// a compare-and-create transaction, a read. One connection, one request at a time, made again
/// after a failure. Keys and values travel base64-encoded and 64-bit numbers as strings, as the
/// gateway's JSON mapping of the gRPC API has them.
actor EtcdClient {
    let host: String
    let port: Int
    let timeout: Duration
    private var connection: HTTPConnection?

    init(endpoint: String, timeout: Duration) throws(DeploymentError) {
        guard let address = NodeAddress(parsing: endpoint), address.port > 0 else {
            throw DeploymentError(field: "etcd", problem: "'\(endpoint)' is not HOST:PORT")
        }
        self.host = address.host
        self.port = address.port
        self.timeout = timeout
    }

    struct Lease: Sendable {
        var id: String
        var ttl: Int
    }

    /// A new lease of `ttl` seconds.
    func grant(ttl: Int) async throws -> Lease {
        let reply = try await call("/v3/lease/grant", ["TTL": "\(ttl)"])
        guard let id = reply["ID"] as? String, let ttl = Int(reply["TTL"] as? String ?? "") else { throw EtcdError.malformed("lease/grant") }
        return Lease(id: id, ttl: ttl)
    }

    /// Renews `lease`; its remaining seconds, 0 when it has expired.
    func keepAlive(_ lease: Lease, timeout: Duration) async throws -> Int {
        let reply = try await call("/v3/lease/keepalive", ["ID": lease.id], timeout: timeout)
        // The gateway streams results: `{"result":{…}}`, one per line.
        let result = reply["result"] as? [String: Any] ?? reply
        return Int(result["TTL"] as? String ?? "0") ?? 0
    }

    /// Ends `lease`, deleting the keys it holds.
    func revoke(_ lease: Lease) async throws {
        _ = try await call("/v3/lease/revoke", ["ID": lease.id])
    }

    /// Creates `key` with `value` under `lease` unless it exists: the revision of the creation,
    /// or `nil` when the key was there.
    func create(_ key: String, value: String, lease: Lease) async throws -> UInt64? {
        let key64 = Data(key.utf8).base64EncodedString()
        let reply = try await call("/v3/kv/txn", [
            "compare": [["key": key64, "result": "EQUAL", "target": "CREATE", "create_revision": "0"]],
            "success": [["request_put": ["key": key64, "value": Data(value.utf8).base64EncodedString(), "lease": lease.id]]],
            "failure": [[String: Any]](),
        ])
        guard reply["succeeded"] as? Bool == true else { return nil }
        guard let header = reply["header"] as? [String: Any], let revision = UInt64(header["revision"] as? String ?? "") else {
            throw EtcdError.malformed("kv/txn")
        }
        return revision
    }

    /// Whether `key` exists, and the revision that created it.
    func createRevision(of key: String) async throws -> UInt64? {
        let reply = try await call("/v3/kv/range", ["key": Data(key.utf8).base64EncodedString()])
        guard let kvs = reply["kvs"] as? [[String: Any]], let first = kvs.first else { return nil }
        return UInt64(first["create_revision"] as? String ?? "")
    }

    func close() {
        connection?.close()
        connection = nil
    }

    private func call(_ path: String, _ body: [String: Any], timeout: Duration? = nil) async throws -> [String: Any] {
        let timeout = min(timeout ?? self.timeout, self.timeout)
        let data = try JSONSerialization.data(withJSONObject: body)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "host", value: "\(host):\(port)")
        head.headers.add(name: "content-type", value: "application/json")
        let request = HTTPMessage(head: head, body: ByteBuffer(bytes: data))
        let open: HTTPConnection
        if let connection, connection.isUsable {
            open = connection
        } else {
            open = try await HTTPConnection.connect(host: host, port: port, timeout: timeout, maxBody: 1 << 20)
            connection = open
        }
        let response: HTTPMessage<HTTPResponseHead>
        do {
            response = try await open.send(request, timeout: timeout).get()
        } catch {
            open.close()
            if connection === open { connection = nil }
            throw error
        }
        var body = response.body
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        // A streamed reply has one JSON object per line: the first is the answer.
        let line = bytes.split(separator: UInt8(ascii: "\n")).first.map(Array.init) ?? bytes
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw EtcdError.malformed(path)
        }
        guard response.head.status == .ok else {
            throw EtcdError.refused(path, "\(response.head.status.code) \(object["message"] as? String ?? object["error"] as? String ?? "")")
        }
        return object
    }
}

enum EtcdError: Error, CustomStringConvertible {
    case unreachable
    case malformed(String)
    case refused(String, String)

    var description: String {
        switch self {
        case .unreachable: "etcd cannot be reached"
        case .malformed(let call): "etcd's answer to \(call) is not what the API says"
        case .refused(let call, let reason): "etcd refused \(call): \(reason)"
        }
    }
}

