import Foundation

extension Deployment {
    /// Checks everything Kubernetes and Kumo would refuse later, and throws the first problem,
    /// naming its field: a name that is not a DNS label, a negative number of replicas, a port
    /// out of range or used twice, an invalid regular expression, a malformed quantity.
    public func validate() throws {
        try check("name", Self.isDNSLabel(name, maxLength: 57), "must be a DNS label of at most 57 characters (lowercase letters, digits and '-', starting and ending with a letter or digit), not '\(name)'")
        try check("image", !image.isEmpty && !image.contains(where: \.isWhitespace), "must be an image reference without spaces, not '\(image)'")
        try check("executable", !executable.isEmpty && !executable.contains("/") && !executable.contains(where: \.isWhitespace), "must be the name of an executable product, not '\(executable)'")
        try check("replicas", replicas >= 1, "must be at least 1, not \(replicas)")
        try check("replicas", replicas <= 1000, "must be at most 1000, not \(replicas)")
        try check("clusterPort", Self.isPort(clusterPort), "must be a port between 1 and 65535, not \(clusterPort)")
        try check("healthPort", Self.isPort(healthPort), "must be a port between 1 and 65535, not \(healthPort)")
        try check("healthPort", healthPort != clusterPort, "must differ from clusterPort (\(clusterPort))")
        var used: [Int: String] = [clusterPort: "clusterPort", healthPort: "healthPort"]
        var names: Set<String> = []
        for (index, port) in ports.enumerated() {
            let field = "ports[\(index)]"
            try check("\(field).name", Self.isServiceName(port.name), "must be a port name of at most 15 characters (lowercase letters, digits and '-', with a letter), not '\(port.name)'")
            try check("\(field).name", names.insert(port.name).inserted, "'\(port.name)' is the name of another port")
            try check("\(field).port", Self.isPort(port.port), "must be a port between 1 and 65535, not \(port.port)")
            if let other = used[port.port] { throw DeploymentError(field: "\(field).port", problem: "\(port.port) is already \(other)") }
            used[port.port] = "\(field).port"
        }
        for (key, value) in [("cpuRequest", resources.cpuRequest), ("memoryRequest", resources.memoryRequest), ("cpuLimit", resources.cpuLimit), ("memoryLimit", resources.memoryLimit)] {
            guard let value else { continue }
            try check("resources.\(key)", Self.isQuantity(value), "must be a Kubernetes quantity such as 500m, 2 or 256Mi, not '\(value)'")
        }
        for name in environment.keys.sorted() {
            try check("environment.\(name)", Self.isEnvironmentName(name), "is not a valid environment variable name")
            try check("environment.\(name)", name != "KUMO_SECRET" && name != "KUMO_ADVERTISE_HOST", "is set by the deployment itself")
        }
        try check("secret.name", Self.isDNSSubdomain(secret.name), "must be a DNS subdomain (a Secret's name), not '\(secret.name)'")
        try check("secret.key", Self.isSecretKey(secret.key), "must be a Secret key (letters, digits, '-', '_' and '.'), not '\(secret.key)'")
        if let shards {
            try check("shards.count", shards.count >= 1, "must be at least 1, not \(shards.count)")
            try check("shards.count", shards.count <= 10_000, "must be at most 10000, not \(shards.count)")
            try check("shards.port", ports.contains { $0.name == shards.port }, "must name one of the ports (\(ports.map(\.name).joined(separator: ", "))), not '\(shards.port)'")
            try check("shards.frontPort", Self.isPort(shards.frontPort), "must be a port between 1 and 65535, not \(shards.frontPort)")
            try check("shards.frontReplicas", shards.frontReplicas >= 1, "must be at least 1, not \(shards.frontReplicas)")
            _ = try ShardPattern(shards.pattern)
        }
        if let storage {
            try check("storage.size", Self.isQuantity(storage.size), "must be a Kubernetes quantity such as 1Gi, not '\(storage.size)'")
            try check("storage.path", storage.path.hasPrefix("/") && !storage.path.contains(where: \.isWhitespace), "must be an absolute path, not '\(storage.path)'")
            if let storageClass = storage.storageClass {
                try check("storage.storageClass", Self.isDNSSubdomain(storageClass), "must be a DNS subdomain, not '\(storageClass)'")
            }
        }
        try check("terminationGracePeriodSeconds", (1...3600).contains(terminationGracePeriodSeconds), "must be between 1 and 3600, not \(terminationGracePeriodSeconds)")
        if let maxUnavailable {
            try check("maxUnavailable", (1...replicas).contains(maxUnavailable), "must be between 1 and replicas (\(replicas)), not \(maxUnavailable)")
        }
        try check("builderImage", !builderImage.isEmpty && !builderImage.contains(where: \.isWhitespace), "must be an image reference")
        try check("runtimeImage", !runtimeImage.isEmpty && !runtimeImage.contains(where: \.isWhitespace), "must be an image reference")
        if let imagePullSecret {
            try check("imagePullSecret", Self.isDNSSubdomain(imagePullSecret), "must be a Secret's name, not '\(imagePullSecret)'")
        }
    }

    private func check(_ field: String, _ condition: Bool, _ problem: @autoclosure () -> String) throws {
        if !condition { throw DeploymentError(field: field, problem: problem()) }
    }

    static func isPort(_ port: Int) -> Bool { (1...65535).contains(port) }

    /// RFC 1123 label: what Kubernetes requires of a Service's name.
    static func isDNSLabel(_ text: String, maxLength: Int = 63) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// RFC 1123 subdomain: labels joined by dots, at most 253 characters.
    static func isDNSSubdomain(_ text: String) -> Bool {
        text.utf8.count <= 253 && text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// IANA service name: what Kubernetes requires of a port's name.
    static func isServiceName(_ text: String) -> Bool {
        isDNSLabel(text, maxLength: 15) && !text.contains("--") && text.contains { $0.isLetter }
    }

    static func isEnvironmentName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !(("0"..."9").contains(first)) else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-._".unicodeScalars.contains($0)) }
    }

    static func isSecretKey(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 253
            && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-._".unicodeScalars.contains($0)) }
    }

    /// A Kubernetes quantity: a decimal number with an optional binary or decimal suffix.
    static func isQuantity(_ text: String) -> Bool {
        text.range(of: #"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"#, options: .regularExpression) != nil
    }
}
