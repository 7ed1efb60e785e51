#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func environment(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

func flushStandardOutput() {
    fflush(nil)
}
