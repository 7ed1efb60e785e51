import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where large values are copied: inbound calls with large arguments, and the encoding of large
/// arguments and results (see `EncodedSizeHint` in KumoCore). A few threads per process, below normal
/// priority.
///
/// Encoding or decoding a large value copies it (tens of milliseconds for tens of megabytes). On a CPU
/// shared with an event loop, a normal-priority copy takes turns with the loop a scheduler slice
/// (several milliseconds) at a time, and small calls wait that long. At a lower priority the copy
/// runs when the loop does not need the CPU and yields it as soon as the loop does.
///
/// Nice 5, not lower: a thread at nice 10 gets a tenth of a CPU against one busy normal thread,
/// so on a loaded machine a large call crawled (a test suite under load ran past 10 s deadlines);
/// at nice 5 it keeps about a quarter, and small calls fared no worse in `kumo-bench bulk`.
///
/// The whole call runs here, not only the decoding: an actor with the default executor runs a
/// task's code on the executor the task prefers, so the method and the encoding of its result
/// run at this priority too (an actor with its own executor still runs the method there). The
/// threads are shared by every node in the process; like the event loop, they must not be blocked.
final class BulkExecutor: TaskExecutor, Sendable {
    /// The process's bulk threads, started on first use.
    static let shared = BulkExecutor(threads: max(2, System.coreCount))

    private let group: MultiThreadedEventLoopGroup
    /// Jobs run here so far (tests check that large values take this path).
    let jobsRun = Atomic<Int>(0)

    private init(threads: Int) {
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        #if os(Linux)
        for loop in group.makeIterator() {
            loop.execute {
                // Nice 5 for this thread: on Linux the nice value belongs to a thread, and
                // PRIO_PROCESS with 0 names the calling one. Raising one's own nice value needs no
                // privilege; if it fails the thread simply stays at normal priority.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 5)
            }
        }
        #endif
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobsRun.add(1, ordering: .relaxed)
        group.next().execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
