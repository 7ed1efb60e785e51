import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps an event loop awake for a short spell after it read, so that the next read finds it
/// awake instead of asleep — and lets it sleep at once while that catches nothing.
///
/// On a virtual machine most of a loopback round trip is the cost of waking a sleeping thread on
/// another CPU (`kumo-bench baseline`: about 55 µs across CPUs, 12 µs on one). A node that just
/// read is likely to read again soon — the reply to the call it sent, the next call of a burst —
/// so after a read its loop stays busy for ``ClusterSettings/busyPollWindow`` before it goes back
/// to its selector: the trade Erlang's schedulers make by spinning before they sleep.
///
/// A spell keeps a task queued on the loop. A loop tick also runs the tasks queued while it runs,
/// so during a spell the loop does not read: when the spell ends, its selector finds what arrived
/// meanwhile without sleeping. A spell pays when the next read comes within it — a round trip
/// without wake-ups is 25–30 µs here in a fast spell of the machine and 55–60 µs in a slow one,
/// hence the default of 60 µs, which catches both (a round trip then takes the spell's length at
/// least) — and costs at most one spell of CPU per read otherwise. When reads come far apart — longer than four spells, several times in
/// a row — the poller rests: the loop sleeps at once after reads for a pause that doubles with
/// every such round (1 ms up to 256 ms) and resets as soon as reads come close together again.
/// A node that only hears gossip now and then rests nearly all the time, so an idle node burns
/// next to no CPU. A spell in which the loop's thread was preempted (Linux counts involuntary
/// context switches per thread) rests the poller for the shortest rest: another thread needed the CPU —
/// on a machine with more busy nodes than cores, the very node whose message the spin awaits
/// (`gears-ring` with three processes on two cores: hop 115–122 µs with spells that ignore it,
/// 80–100 µs with the rest). Zero turns the poller off.
///
/// A large read (``streamRead`` bytes or more) starts no spell: it is part of a stream, whose next
/// bytes come at once, and a spell would keep the loop from reading them for its whole length
/// (`kumo-bench bulk`: 2.6 GB/s with spells after every read, 3.1 GB/s without them after large
/// reads, in one sitting; the small calls' p99 fell as well). Nor does any read while a
/// connection on the loop is in the middle of a large frame, in either direction: a small read
/// then is only a gap in the stream, which a spell would widen by its whole length while the
/// sender's socket buffer fills. (That one is by reasoning: `bulk` over four interleaved runs
/// moved within its noise.)
///
/// (Spells that adapt their length to the gaps they see were tried: unbounded, they settled at
/// 40–45 µs where 30 µs gave 32 µs, and grew long on a stream; between 30 and 80 µs they gave
/// 70–76 µs in a slow spell, where 60 µs gives 62 µs; docs/benchmarks.md.)
///
/// `@unchecked Sendable`: the mutable state is touched only on `eventLoop` (every method runs
/// there, which `activity()` asserts in debug builds).
final class BusyPoller: @unchecked Sendable {
    private let eventLoop: any EventLoop
    /// The spell (nanoseconds).
    private let spell: UInt64
    private var spellStart: UInt64 = 0
    private var spinning = false
    private var switchesAtStart = 0
    /// When the last spell ended, until the next read tells whether it came soon after.
    private var endedAt: UInt64?
    private var farReads = 0
    private var restUntil: UInt64 = 0
    private var rest: UInt64 = BusyPoller.shortestRest
    /// Connections on this loop sending or receiving large frames now: while there are any, no
    /// spell starts and a running one ends, since during a spell the loop would not notice that
    /// a socket can take more, nor read the bytes that come next.
    private let streams = Atomic<Int>(0)

    /// Reads further apart than this many spells make the poller rest, once there were
    /// ``farReadsBeforeRest`` of them in a row.
    static let farGapInSpells: UInt64 = 4
    static let farReadsBeforeRest = 4
    static let shortestRest: UInt64 = 1_000_000
    /// Reads of at least this many bytes start no spell (see ``activity(readBytes:)``).
    static let streamRead = 32 * 1024
    static let longestRest: UInt64 = 256_000_000

    init(eventLoop: any EventLoop, window: Duration) {
        self.eventLoop = eventLoop
        self.spell = UInt64(max(0, TimeAmount(window).nanoseconds))
    }

    /// The loop just read `readBytes` bytes. Runs on the loop.
    func activity(readBytes: Int) {
        guard spell > 0 else { return }
        eventLoop.assertInEventLoop()
        let now = Self.now()
        if let endedAt {
            self.endedAt = nil
            learn(gap: now &- endedAt, now: now)
        }
        // A large read is part of a stream: more follows at once, and the loop would find it
        // without sleeping — but not during a spell, in which the loop reads nothing.
        guard !spinning, now >= restUntil, readBytes < Self.streamRead, streams.load(ordering: .relaxed) == 0 else { return }
        spinning = true
        spellStart = now
        switchesAtStart = Self.involuntarySwitches()
        eventLoop.execute { self.spin() }
    }

    /// Rests after several reads in a row that came long after the spell before them ended.
    private func learn(gap: UInt64, now: UInt64) {
        guard gap > spell * Self.farGapInSpells else {
            farReads = 0
            rest = Self.shortestRest
            return
        }
        farReads += 1
        guard farReads >= Self.farReadsBeforeRest else { return }
        farReads = 0
        restUntil = now &+ rest
        rest = min(rest * 2, Self.longestRest)
    }

    /// Keeps a task queued while the spell lasts.
    private func spin() {
        let now = Self.now()
        if now &- spellStart < spell, streams.load(ordering: .relaxed) == 0 {
            eventLoop.execute { self.spin() }
            return
        }
        spinning = false
        // Preempted while spinning: another thread needed this CPU (more busy processes than
        // cores). Spinning then slows the work it waits for, so the poller rests.
        let switches = Self.involuntarySwitches()
        if switches != switchesAtStart { restUntil = now &+ Self.shortestRest }
        endedAt = now
    }

    /// A connection started (`true`) or stopped (`false`) sending or receiving large frames.
    /// Any thread.
    func streaming(_ started: Bool) {
        streams.add(started ? 1 : -1, ordering: .relaxed)
    }

    /// How many times this thread was preempted.
    private static func involuntarySwitches() -> Int {
        #if os(Linux)
        var usage = rusage()
        // RUSAGE_THREAD (1): this thread only.
        guard getrusage(__rusage_who_t(1), &usage) == 0 else { return 0 }
        return usage.ru_nivcsw
        #else
        return 0
        #endif
    }

    private static func now() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
