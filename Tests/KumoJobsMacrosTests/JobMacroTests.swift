import KumoJobsMacros
import MacroTesting
import Testing

@Suite("@Job expansion", .macros(["Job": JobMacro.self], record: .missing))
struct JobMacroTests {
    @Test("a synchronous global function")
    func synchronous() {
        assertMacro {
            """
            @Job
            func square(_ a: Int) -> Int { a * a }
            """
        } expansion: {
            """
            func square(_ a: Int) -> Int { a * a }

            #sourceLocation(file: "Test.swift", line: 1)

            /// The job `square(_:)` as nodes know it: list it in `Jobs(…)` on the nodes that run it.
            let squareJob = KumoJobs.JobDefinition<Int>(
                result: KumoJobs.JobResultCoding<Int>.codable,
                name: nil, function: "square(_:)", fileID: #fileID,
                isAsync: false, options: KumoJobs.JobOptions()
            ) { _kumoReader in
                #sourceLocation(file: "Test.swift", line: 2)
                let a: Int = try _kumoReader.next()
                #sourceLocation(file: "Test.swift", line: 2)
                try _kumoReader.finish()
                return square(a)
            }

            #sourceLocation()

            /// Runs `square` in a new task on this node and awaits it.
            func squareLocal(_ a: Int) async throws -> Int {
                try await squareJob.local {
                    square(a)
                }
            }

            /// Runs `square` on the node the placement chooses and awaits it.
            func squareRemote(_ a: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) async throws -> Int {
                try await squareJob.remote(options: _kumoOptions) { _kumoArguments in
                    try _kumoArguments.append(a)
                }
            }

            /// Starts `square` in a new task on this node.
            func squareLocalAsync(_ a: Int) -> KumoJobs.JobHandle<Int> {
                squareJob.localAsync {
                    square(a)
                }
            }

            /// Starts `square` on the node the placement chooses.
            func squareRemoteAsync(_ a: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) -> KumoJobs.JobHandle<Int> {
                squareJob.remoteAsync(options: _kumoOptions) { _kumoArguments in
                    try _kumoArguments.append(a)
                }
            }

            /// Runs `square` for each element of `arguments` over the nodes; the results in order.
            func squareRemoteFanout(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async throws -> [Int] {
                try await squareJob.fanout(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem)
                }
            }

            /// Runs `square` for each element of `arguments` over the nodes; every call's `Result`, in order.
            func squareRemoteFanoutResults(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async -> [Swift.Result<Int, any Error>] {
                await squareJob.fanoutResults(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem)
                }
            }

            /// Runs `square` for each element of `arguments` over the nodes; each result as it comes, with its index.
            func squareRemoteFanoutStream(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) -> AsyncStream<KumoJobs.FanoutItem<Int>> {
                squareJob.fanoutStream(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem)
                }
            }
            """
        }
    }

    @Test("an async throwing function of two labelled parameters")
    func asyncThrowing() {
        assertMacro {
            """
            @Job
            public func pythagorean(a: Int, b: Int) async throws -> Double {
                0
            }
            """
        } expansion: {
            """
            public func pythagorean(a: Int, b: Int) async throws -> Double {
                0
            }

            #sourceLocation(file: "Test.swift", line: 1)

            /// The job `pythagorean(a:b:)` as nodes know it: list it in `Jobs(…)` on the nodes that run it.
            public let pythagoreanJob = KumoJobs.JobDefinition<Double>(
                result: KumoJobs.JobResultCoding<Double>.codable,
                name: nil, function: "pythagorean(a:b:)", fileID: #fileID,
                isAsync: true, options: KumoJobs.JobOptions()
            ) { _kumoReader in
                #sourceLocation(file: "Test.swift", line: 2)
                let a: Int = try _kumoReader.next()
                #sourceLocation(file: "Test.swift", line: 2)
                let b: Int = try _kumoReader.next()
                #sourceLocation(file: "Test.swift", line: 2)
                try _kumoReader.finish()
                return try await pythagorean(a: a, b: b)
            }

            #sourceLocation()

            /// Runs `pythagorean` in a new task on this node and awaits it.
            public func pythagoreanLocal(a: Int, b: Int) async throws -> Double {
                try await pythagoreanJob.local {
                    try await pythagorean(a: a, b: b)
                }
            }

            /// Runs `pythagorean` on the node the placement chooses and awaits it.
            public func pythagoreanRemote(a: Int, b: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) async throws -> Double {
                try await pythagoreanJob.remote(options: _kumoOptions) { _kumoArguments in
                    try _kumoArguments.append(a)
                    try _kumoArguments.append(b)
                }
            }

            /// Starts `pythagorean` in a new task on this node.
            public func pythagoreanLocalAsync(a: Int, b: Int) -> KumoJobs.JobHandle<Double> {
                pythagoreanJob.localAsync {
                    try await pythagorean(a: a, b: b)
                }
            }

            /// Starts `pythagorean` on the node the placement chooses.
            public func pythagoreanRemoteAsync(a: Int, b: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) -> KumoJobs.JobHandle<Double> {
                pythagoreanJob.remoteAsync(options: _kumoOptions) { _kumoArguments in
                    try _kumoArguments.append(a)
                    try _kumoArguments.append(b)
                }
            }

            /// Runs `pythagorean` for each element of `arguments` over the nodes; the results in order.
            public func pythagoreanRemoteFanout(_ arguments: [(a: Int, b: Int)], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async throws -> [Double] {
                try await pythagoreanJob.fanout(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem.a)
                    try _kumoArguments.append(_kumoItem.b)
                }
            }

            /// Runs `pythagorean` for each element of `arguments` over the nodes; every call's `Result`, in order.
            public func pythagoreanRemoteFanoutResults(_ arguments: [(a: Int, b: Int)], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async -> [Swift.Result<Double, any Error>] {
                await pythagoreanJob.fanoutResults(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem.a)
                    try _kumoArguments.append(_kumoItem.b)
                }
            }

            /// Runs `pythagorean` for each element of `arguments` over the nodes; each result as it comes, with its index.
            public func pythagoreanRemoteFanoutStream(_ arguments: [(a: Int, b: Int)], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) -> AsyncStream<KumoJobs.FanoutItem<Double>> {
                pythagoreanJob.fanoutStream(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                    try _kumoArguments.append(_kumoItem.a)
                    try _kumoArguments.append(_kumoItem.b)
                }
            }
            """
        }
    }

    @Test("a static function, with a name and options on the attribute")
    func staticWithOptions() {
        assertMacro {
            """
            enum Geometry {
                @Job("geometry.cube", options: JobOptions(timeout: .seconds(2), idempotent: true))
                static func cube(of x: Int) -> Int { x * x * x }
            }
            """
        } expansion: {
            """
            enum Geometry {
                static func cube(of x: Int) -> Int { x * x * x }

                #sourceLocation(file: "Test.swift", line: 1)

                /// The job `Geometry.cube(of:)` as nodes know it: list it in `Jobs(…)` on the nodes that run it.
                static let cubeJob = KumoJobs.JobDefinition<Int>(
                    result: KumoJobs.JobResultCoding<Int>.codable,
                    name: "geometry.cube", function: "Geometry.cube(of:)", fileID: #fileID,
                    isAsync: false, options: JobOptions(timeout: .seconds(2), idempotent: true)
                ) { _kumoReader in
                    #sourceLocation(file: "Test.swift", line: 3)
                    let x: Int = try _kumoReader.next()
                    #sourceLocation(file: "Test.swift", line: 3)
                    try _kumoReader.finish()
                    return Geometry.cube(of: x)
                }

                #sourceLocation()

                /// Runs `cube` in a new task on this node and awaits it.
                static func cubeLocal(of x: Int) async throws -> Int {
                    try await cubeJob.local {
                        Geometry.cube(of: x)
                    }
                }

                /// Runs `cube` on the node the placement chooses and awaits it.
                static func cubeRemote(of x: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) async throws -> Int {
                    try await cubeJob.remote(options: _kumoOptions) { _kumoArguments in
                        try _kumoArguments.append(x)
                    }
                }

                /// Starts `cube` in a new task on this node.
                static func cubeLocalAsync(of x: Int) -> KumoJobs.JobHandle<Int> {
                    cubeJob.localAsync {
                        Geometry.cube(of: x)
                    }
                }

                /// Starts `cube` on the node the placement chooses.
                static func cubeRemoteAsync(of x: Int, options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) -> KumoJobs.JobHandle<Int> {
                    cubeJob.remoteAsync(options: _kumoOptions) { _kumoArguments in
                        try _kumoArguments.append(x)
                    }
                }

                /// Runs `cube` for each element of `arguments` over the nodes; the results in order.
                static func cubeRemoteFanout(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async throws -> [Int] {
                    try await cubeJob.fanout(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                        try _kumoArguments.append(_kumoItem)
                    }
                }

                /// Runs `cube` for each element of `arguments` over the nodes; every call's `Result`, in order.
                static func cubeRemoteFanoutResults(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async -> [Swift.Result<Int, any Error>] {
                    await cubeJob.fanoutResults(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                        try _kumoArguments.append(_kumoItem)
                    }
                }

                /// Runs `cube` for each element of `arguments` over the nodes; each result as it comes, with its index.
                static func cubeRemoteFanoutStream(_ arguments: [Int], options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) -> AsyncStream<KumoJobs.FanoutItem<Int>> {
                    cubeJob.fanoutStream(arguments, options: _kumoOptions) { _kumoItem, _kumoArguments in
                        try _kumoArguments.append(_kumoItem)
                    }
                }
            }
            """
        }
    }

    @Test("no parameters, no result")
    func nothing() {
        assertMacro {
            """
            @Job
            func ping() async {}
            """
        } expansion: {
            """
            func ping() async {}

            /// The job `ping()` as nodes know it: list it in `Jobs(…)` on the nodes that run it.
            let pingJob = KumoJobs.JobDefinition<Void>(
                result: KumoJobs.JobResultCoding<Void>.none,
                name: nil, function: "ping()", fileID: #fileID,
                isAsync: true, options: KumoJobs.JobOptions()
            ) { _kumoReader in

                try _kumoReader.finish()
                return await ping()
            }

            /// Runs `ping` in a new task on this node and awaits it.
            func pingLocal() async throws {
                try await pingJob.local {
                    await ping()
                }
            }

            /// Runs `ping` on the node the placement chooses and awaits it.
            func pingRemote(options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) async throws {
                try await pingJob.remote(options: _kumoOptions) { _kumoArguments in

                }
            }

            /// Starts `ping` in a new task on this node.
            func pingLocalAsync() -> KumoJobs.JobHandle<Void> {
                pingJob.localAsync {
                    await ping()
                }
            }

            /// Starts `ping` on the node the placement chooses.
            func pingRemoteAsync(options _kumoOptions: KumoJobs.JobCallOptions = KumoJobs.JobCallOptions()) -> KumoJobs.JobHandle<Void> {
                pingJob.remoteAsync(options: _kumoOptions) { _kumoArguments in

                }
            }

            /// Runs `ping` `count` times over the nodes; the results in order.
            func pingRemoteFanout(count: Int, options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async throws -> [Void] {
                try await pingJob.fanout(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in
                }
            }

            /// Runs `ping` `count` times over the nodes; every call's `Result`, in order.
            func pingRemoteFanoutResults(count: Int, options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) async -> [Swift.Result<Void, any Error>] {
                await pingJob.fanoutResults(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in
                }
            }

            /// Runs `ping` `count` times over the nodes; each result as it comes, with its index.
            func pingRemoteFanoutStream(count: Int, options _kumoOptions: KumoJobs.FanoutOptions = KumoJobs.FanoutOptions()) -> AsyncStream<KumoJobs.FanoutItem<Void>> {
                pingJob.fanoutStream(Array(repeating: (), count: count), options: _kumoOptions) { _, _ in
                }
            }
            """
        }
    }

    @Test("an instance method, a generic function and a local function are refused")
    func refusedShapes() {
        assertMacro {
            """
            struct Bank {
                @Job
                func balance() -> Int { 0 }
            }
            """
        } diagnostics: {
            """
            struct Bank {
                @Job
                func balance() -> Int { 0 }
                     ┬──────
                     ╰─ 🛑 @Job applies to a global or static function; make this method static or move it out of its type
            }
            """
        }
        assertMacro {
            """
            @Job
            func identity<T: Codable>(_ value: T) -> T { value }
            """
        } diagnostics: {
            """
            @Job
            func identity<T: Codable>(_ value: T) -> T { value }
                         ┬───────────
                         ╰─ 🛑 a job cannot be generic: its parameters and result must be concrete Codable types
            """
        }
        assertMacro {
            """
            func outer() {
                @Job
                func inner() -> Int { 0 }
            }
            """
        } diagnostics: {
            """
            func outer() {
                @Job
                func inner() -> Int { 0 }
                     ┬────
                     ╰─ 🛑 @Job applies to a global or static function, not one declared inside another
            }
            """
        }
        assertMacro {
            """
            @Job
            var notAFunction = 1
            """
        } diagnostics: {
            """
            @Job
            ╰─ 🛑 @Job applies to a function
            var notAFunction = 1
            """
        }
    }

    @Test("parameters and results that cannot be Codable are refused where they are written")
    func refusedTypes() {
        assertMacro {
            """
            @Job
            func apply(_ f: (Int) -> Int, _ counter: inout Int, values: Int..., shape: some Shape, any: any Shape, pair: (Int, Int), kind: Int.Type) -> Int { 0 }
            """
        } diagnostics: {
            """
            @Job
            func apply(_ f: (Int) -> Int, _ counter: inout Int, values: Int..., shape: some Shape, any: any Shape, pair: (Int, Int), kind: Int.Type) -> Int { 0 }
                                                                                                                                     ┬─────────────
                       │                  │                     │               │                  │               │                 ╰─ 🛑 a job's parameter must be Codable, and a metatype is not
                                                                                                                   ┬────────────────
                       │                  │                     │               │                  │               ╰─ 🛑 a job's parameter must be Codable, and a tuple is not; use a struct
                                                                                                   ┬──────────────
                       │                  │                     │               │                  ╰─ 🛑 a job's parameter must be a concrete Codable type, not an existential 'any' type
                                                                                ┬─────────────────
                       │                  │                     │               ╰─ 🛑 a job's parameter must be a concrete Codable type, not an opaque 'some' type
                                                                ┬──────────────
                       │                  │                     ╰─ 🛑 a job's parameter cannot be variadic; take an array instead
                                          ┬────────────────────
                       │                  ╰─ 🛑 a job's parameter cannot be inout: arguments travel to another node by value
                       ┬─────────────────
                       ╰─ 🛑 a job's parameter must be Codable, and a function is not
            """
        }
        assertMacro {
            """
            @Job
            func make() -> (Int, String) { (0, "") }
            """
        } diagnostics: {
            """
            @Job
            func make() -> (Int, String) { (0, "") }
                           ┬────────────
                           ╰─ 🛑 a job's result must be Codable, and a tuple is not; use a struct
            """
        }
        assertMacro {
            """
            @Job
            func typed() throws(MyError) -> Int { 0 }
            """
        } diagnostics: {
            """
            @Job
            func typed() throws(MyError) -> Int { 0 }
                         ┬──────────────
                         ╰─ 🛑 a job throws untyped errors: errors from other nodes may be JobError
            """
        }
    }
}
