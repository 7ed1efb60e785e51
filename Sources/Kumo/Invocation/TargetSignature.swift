import Distributed
import Synchronization

/// The parameter and return types of a non-generic call target, looked up once.
///
/// `executeDistributedTarget` demangles the target's name three times on every call (parameter
/// count, parameter types, return type); on a busy node that was a third of all CPU time. The
/// types of a non-generic target never change, so Kumo looks them up once per target and runs
/// calls through the runtime entry point that `executeDistributedTarget` itself ends in (see
/// ``ClusterSystem/execute(_:on:decoder:handler:)``). Generic targets, whose types depend on each
/// call's substitutions, take the standard path.
///
/// `@unchecked Sendable`: every stored property but the mutex-guarded spare buffers is written
/// once, in `init`, and only read after; the buffers are owned by this object and freed in `deinit`.
final class TargetSignature: @unchecked Sendable {
    /// The target's mangled name, as the runtime looks it up.
    let name: UnsafeMutableBufferPointer<UInt8>
    /// The metatype of each parameter, in order (at least one slot, so it always has an address).
    let argumentTypes: UnsafeMutableBufferPointer<any Any.Type>
    let returnType: any Any.Type
    /// Size and alignment of `returnType`, for the buffer the result is written to.
    let resultSize: Int
    let resultAlignment: Int
    /// `returnType` as a `Codable` type (`nil` when it is not one), cast once (see
    /// ``ClusterSystem/execute(_:on:decoder:handler:)``).
    let codableReturnType: (any Codable.Type)?

    /// Looks up the types of the target `mangledName`; `nil` for a generic target or a name the
    /// runtime cannot resolve (the standard path then reports the problem).
    init?(mangledName: String) {
        let utf8 = Array(mangledName.utf8)
        let name = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, utf8.count))
        _ = name.initialize(from: utf8)
        guard !utf8.isEmpty, let base = name.baseAddress,
            _getGenericEnvironmentOfDistributedTarget(base, UInt(utf8.count)) == nil
        else {
            name.deallocate()
            return nil
        }
        let count = Int(__getParameterCount(base, UInt(utf8.count)))
        guard count >= 0 else {
            name.deallocate()
            return nil
        }
        let argumentTypes = UnsafeMutableBufferPointer<any Any.Type>.allocate(capacity: max(1, count))
        guard let typesBase = argumentTypes.baseAddress,
            __getParameterTypeInfo(base, UInt(utf8.count), nil, nil, UnsafeMutableRawPointer(typesBase)._rawValue, count)
                == count,
            let returnType = __getReturnTypeInfo(base, UInt(utf8.count), nil, nil)
        else {
            argumentTypes.deallocate()
            name.deallocate()
            return nil
        }
        self.name = UnsafeMutableBufferPointer(rebasing: name[..<utf8.count])
        self.argumentTypes = argumentTypes
        self.returnType = returnType
        func layout<R>(_: R.Type) -> (Int, Int) { (MemoryLayout<R>.size, MemoryLayout<R>.alignment) }
        (resultSize, resultAlignment) = _openExistential(returnType, do: layout)
        codableReturnType = returnType as? any Codable.Type
    }

    /// Result buffers given back, kept for reuse: calls to one target come in bursts, and a
    /// burst of allocations of one size overflows glibc's small per-size cache (7 blocks) into
    /// its much slower general path.
    private let spareResults = Mutex<[UInt]>([])  // addresses
    private static let maximumSpareResults = 128

    /// Room for one result.
    func allocateResult() -> UnsafeMutableRawPointer {
        if let spare = spareResults.withLock({ $0.popLast() }), let memory = UnsafeMutableRawPointer(bitPattern: spare) {
            return memory
        }
        return .allocate(byteCount: max(1, resultSize), alignment: resultAlignment)
    }

    /// Destroys the result a target wrote into `memory` (a buffer from ``allocateResult()``).
    func destroyResult(in memory: UnsafeMutableRawPointer) {
        func destroy<R>(_: R.Type) { memory.assumingMemoryBound(to: R.self).deinitialize(count: 1) }
        _openExistential(returnType, do: destroy)
    }

    /// Gives back a buffer from ``allocateResult()``, holding no value (destroyed or never written).
    func deallocateResult(_ memory: UnsafeMutableRawPointer) {
        let kept = spareResults.withLock { spares -> Bool in
            guard spares.count < Self.maximumSpareResults else { return false }
            spares.append(UInt(bitPattern: memory))
            return true
        }
        if !kept { memory.deallocate() }
    }

    deinit {
        for spare in spareResults.withLock({ $0 }) { UnsafeMutableRawPointer(bitPattern: spare)?.deallocate() }
        argumentTypes.deallocate()
        name.deallocate()
    }
}
