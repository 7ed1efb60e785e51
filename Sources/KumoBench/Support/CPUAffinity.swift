#if os(Linux)
import Glibc

// Glibc's module map hides sched_setaffinity (it needs _GNU_SOURCE); bind the symbol directly.
@_silgen_name("sched_setaffinity")
private func sched_setaffinity_(_ pid: pid_t, _ size: Int, _ mask: UnsafeRawPointer) -> Int32

/// Pins the whole process to `cpu`: every thread it has now (Linux affinity is per thread, and
/// the runtime starts its pool threads before `main` runs) and so every thread they start later.
/// Returns false where the machine does not allow it (fewer CPUs, no permission).
@discardableResult
func pinProcess(toCPU cpu: Int) -> Bool {
    guard cpu >= 0, cpu < 1024, cpu < Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) else { return false }
    var mask = [UInt64](repeating: 0, count: 16)
    mask[cpu / 64] |= 1 << UInt64(cpu % 64)
    let threads = threadIDs()
    return mask.withUnsafeBytes { mask in
        guard let base = mask.baseAddress else { return false }
        var pinned = sched_setaffinity_(0, mask.count, base) == 0
        for thread in threads {
            // A thread that exited meanwhile fails with ESRCH, which is fine.
            if sched_setaffinity_(thread, mask.count, base) != 0 && errno != ESRCH { pinned = false }
        }
        return pinned
    }
}

/// The ids of this process's threads, from /proc/self/task.
private func threadIDs() -> [pid_t] {
    guard let directory = opendir("/proc/self/task") else { return [] }
    defer { closedir(directory) }
    var ids: [pid_t] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if let id = pid_t(name) { ids.append(id) }
    }
    return ids
}
#else
@discardableResult
func pinProcess(toCPU cpu: Int) -> Bool { false }
#endif
