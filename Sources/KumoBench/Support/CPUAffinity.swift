#if os(Linux)
import Glibc

// Glibc's module map hides sched_setaffinity (it needs _GNU_SOURCE); bind the symbol directly.
@_silgen_name("sched_setaffinity")
private func sched_setaffinity_(_ pid: pid_t, _ size: Int, _ mask: UnsafeRawPointer) -> Int32

/// Pins the calling process (the calling thread and every thread it starts afterwards) to `cpu`.
/// Returns false where the machine does not allow it (fewer CPUs, no permission).
@discardableResult
func pinProcess(toCPU cpu: Int) -> Bool {
    guard cpu >= 0, cpu < 1024, cpu < Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) else { return false }
    var mask = [UInt64](repeating: 0, count: 16)
    mask[cpu / 64] |= 1 << UInt64(cpu % 64)
    return mask.withUnsafeBytes { sched_setaffinity_(0, $0.count, $0.baseAddress!) } == 0
}
#else
@discardableResult
func pinProcess(toCPU cpu: Int) -> Bool { false }
#endif
