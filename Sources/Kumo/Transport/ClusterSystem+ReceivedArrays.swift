import KumoCore
import NIOCore

extension ClusterSystem {
    /// Trims the cache of received arrays (``receivedArrays``) every `maximumAge` until it is
    /// empty; the next array kept asks for this again. Called when the cache asks for a trim.
    func scheduleReceivedArraysTrim() {
        let arrays = receivedArrays
        let age = TimeAmount.nanoseconds(Int64(clamping: arrays.maximumAge))
        eventLoop.scheduleRepeatedTask(initialDelay: age, delay: age) { task in
            if !arrays.trim(now: NIODeadline.now().uptimeNanoseconds) { task.cancel() }
        }
    }
}
