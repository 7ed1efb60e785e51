import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc

// Glibc's module map does not export gettid (it needs _GNU_SOURCE); bind the symbol directly.
@_silgen_name("gettid")
private func currentThreadID() -> pid_t
#endif

/// Where calls with large arguments decode them: one thread per process that runs below normal
/// priority.
///
/// Decoding a large argument copies it (tens of milliseconds for tens of megabytes). On a CPU
/// shared with an event loop, a normal-priority copy takes turns with the loop a scheduler slice
/// (several milliseconds) at a time, and small calls wait that long. At a lower priority the copy
/// runs when the loop does not need the CPU, and yields it as soon as the loop does.
enum BulkExecutor {
    /// The task executor of the bulk thread, started on first use.
    static let shared: EventLoopExecutor = {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
        #if os(Linux)
        loop.execute {
            // Nice 10 for this thread only (on Linux, PRIO_PROCESS with a thread id names one
            // thread). Raising one's own nice value needs no privilege; failure leaves it at 0.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(currentThreadID()), 10)
        }
        #endif
        return EventLoopExecutor(eventLoop: loop)
    }()
}
