import Foundation
import Synchronization

/// An OS process started for a multi-process test, a benchmark peer or the demo, that announces
/// readiness with a line on its standard output.
///
/// The process is killed when the `ChildProcess` is deinitialized, so a failing test never leaves
/// it behind. Its output (stdout and stderr) is kept, the last 200 lines, for diagnostics.
public final class ChildProcess: Sendable {
    /// The process id.
    public let pid: Int32
    /// The rest of the line that announced readiness (after the prefix).
    public let readyLine: String
    private let process: Mutex<Process>
    private let output: OutputLog

    /// Launches `executable` and waits until it prints a line starting with `readyPrefix`.
    /// - Throws: ``ChildProcessError`` if it exits or stays silent for `timeout`.
    public static func launch(
        executable: String, arguments: [String], readyPrefix: String, timeout: Duration = .seconds(20),
        environment: [String: String]? = nil
    ) async throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        // A pipe we hold open: a child may watch its stdin to exit when its parent dies.
        let stdin = Pipe()
        process.standardInput = stdin
        let output = OutputLog()
        let ready = ReadySignal()
        try process.run()
        let pid = process.processIdentifier
        output.drain(stdout.fileHandleForReading, readyPrefix: readyPrefix, ready: ready)
        output.drain(stderr.fileHandleForReading, readyPrefix: nil, ready: nil)
        let exited = ExitFlag(process)
        let line: String? = await withTaskGroup(of: String?.self) { group in
            group.addTask { await ready.wait() }
            group.addTask {
                // A child that exits before it is ready fails at once, not after the timeout.
                while !Task.isCancelled, !exited.hasExited {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            ready.fire(nil)
            return first
        }
        let child = ChildProcess(
            pid: pid, readyLine: line ?? "", process: process, output: output, stdin: stdin.fileHandleForWriting)
        guard line != nil else {
            child.kill()
            // The process may have exited a moment ago: let the readers take in its last lines.
            await output.waitForEnd(of: 2, timeout: .seconds(2))
            throw ChildProcessError(
                message: "\(executable) \(arguments.joined(separator: " ")) did not print '\(readyPrefix)' within \(timeout)",
                output: output.lines)
        }
        return child
    }

    private let stdin: Mutex<FileHandle?>

    private init(pid: Int32, readyLine: String, process: Process, output: OutputLog, stdin: FileHandle) {
        self.pid = pid
        self.readyLine = readyLine
        self.process = Mutex(process)
        self.output = output
        self.stdin = Mutex(stdin)
    }

    /// Closes the child's standard input (children that watch it take this as "stop").
    public func closeStandardInput() {
        stdin.withLock { handle in
            try? handle?.close()
            handle = nil
        }
    }

    deinit {
        kill()
        closeStandardInput()
    }

    /// Whether the process still runs.
    public var isRunning: Bool { process.withLock { $0.isRunning } }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        process.withLock { process in
            if process.isRunning { _ = Foundation.kill(process.processIdentifier, signal) }
        }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    public func kill() { signal(SIGKILL) }

    /// Asks the process to stop (SIGTERM).
    public func terminate() { signal(SIGTERM) }

    /// Waits for the process to exit and returns its exit status, or `nil` after `timeout`.
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let status: Int32? = process.withLock { $0.isRunning ? nil : $0.terminationStatus }
            if let status { return status }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// The last lines the process printed.
    public var outputLines: [String] { output.lines }
}

/// A child process failed to start or to announce readiness.
public struct ChildProcessError: Error, CustomStringConvertible {
    public var message: String
    public var output: [String]
    public var description: String {
        "\(message)\n--- its output ---\n\(output.joined(separator: "\n"))"
    }
}

/// Whether a process has exited, readable from any task.
private final class ExitFlag: Sendable {
    private let process: Mutex<Process>
    init(_ process: sending Process) { self.process = Mutex(process) }
    var hasExited: Bool { process.withLock { !$0.isRunning } }
}

private final class ReadySignal: Sendable {
    private let state = Mutex<(fired: Bool, line: String?, waiter: CheckedContinuation<String?, Never>?)>((false, nil, nil))

    func fire(_ line: String?) {
        let waiter: CheckedContinuation<String?, Never>? = state.withLock { state in
            guard !state.fired else { return nil }
            state.fired = true
            state.line = line
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: line)
    }

    func wait() async -> String? {
        await withCheckedContinuation { continuation in
            let now: (Bool, String?) = state.withLock { state in
                if state.fired { return (true, state.line) }
                state.waiter = continuation
                return (false, nil)
            }
            if now.0 { continuation.resume(returning: now.1) }
        }
    }
}

private final class OutputLog: Sendable {
    private let storage = Mutex<[String]>([])
    /// How many of the drained handles reached their end.
    private let ended = Mutex(0)

    var lines: [String] { storage.withLock { $0 } }

    /// Waits until `count` drained handles have reached their end, or `timeout` passes.
    func waitForEnd(of count: Int, timeout: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while ended.withLock({ $0 }) < count, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    func drain(_ handle: FileHandle, readyPrefix: String?, ready: ReadySignal?) {
        let thread = Thread { [self] in
            var pending = Data()
            var buffer = [UInt8](repeating: 0, count: 16 << 10)
            let descriptor = handle.fileDescriptor
            while true {
                // `read(2)` rather than `availableData`, which stops the process on EINTR.
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    self.storage.withLock { lines in
                        lines.append(line)
                        if lines.count > 200 { lines.removeFirst(lines.count - 200) }
                    }
                    if let readyPrefix, line.hasPrefix(readyPrefix) {
                        ready?.fire(String(line.dropFirst(readyPrefix.count)))
                    }
                }
            }
            if !pending.isEmpty {
                let line = String(decoding: pending, as: UTF8.self)
                self.storage.withLock { $0.append(line) }
            }
            self.ended.withLock { $0 += 1 }
            ready?.fire(nil)
        }
        thread.start()
    }
}

/// The path of an executable built beside the running one (tests find `kumo` this way), or the
/// value of the environment variable `override` when set.
public func siblingExecutable(named name: String, override: String? = nil) -> String {
    if let override, let value = ProcessInfo.processInfo.environment[override], !value.isEmpty {
        return value
    }
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: me).deletingLastPathComponent()
    // Test bundles on Darwin live one level deeper (Foo.xctest/Contents/MacOS).
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
}

/// Runs `executable` to its end and returns its exit status and its standard output and error
/// together. The waiting happens on a thread of its own, not on the concurrency pool's few
/// threads: a test that blocked them would stall every other test's nodes in the process.
public func runToEnd(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try runToEndBlocking(executable, arguments) }) }.start()
    }
}

/// ``runToEnd(_:_:)`` on the caller's thread: only where nothing else runs yet (a trait's
/// condition, evaluated before the tests start).
public func runToEndBlocking(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
