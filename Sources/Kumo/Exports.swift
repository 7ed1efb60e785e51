// `import Kumo` is all a program needs: the `distributed` language feature and Kumo's core types
// (identities, the binary coder) come with it.
@_exported import Distributed
@_exported import KumoCore
