import KumoJobs

// lucidity's example, in Swift. `@Job` leaves each function callable as itself and writes its
// variants beside it: squareLocal, squareRemote, squareLocalAsync, squareRemoteAsync,
// squareRemoteFanout (and …Results, …Stream), and `squareJob`, which the nodes install.

/// The square of `a`.
@Job func square(_ a: Int) -> Int {
    a * a
}

/// The hypotenuse of a right triangle with sides `a` and `b`: a job that runs two jobs, wherever
/// the placement puts them, and waits for both.
@Job func pythagorean(a: Int, b: Int) async throws -> Double {
    let x = squareRemoteAsync(a)
    let y = squareRemoteAsync(b)
    return Double(try await x.value + y.value).squareRoot()
}
