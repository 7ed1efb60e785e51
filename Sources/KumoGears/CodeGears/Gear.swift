/// Makes a struct a Code Gear whose inputs are its `@Take`, `@Peek`, `@RemoteTake` and
/// `@RemotePeek` properties, listed at compile time: no reflection when it is armed, and no
/// hand-written list to keep in step with the properties.
///
/// ```swift
/// @Gear
/// struct CountUp {
///     @Take("count") var count: Int
///     @Peek("limit") var limit: Int
///
///     func run(_ cgm: CodeGearManager) async throws { … }
/// }
/// ```
@attached(member, names: named(inputs))
@attached(extension, conformances: CodeGear)
public macro Gear() = #externalMacro(module: "KumoGearsMacros", type: "GearMacro")
