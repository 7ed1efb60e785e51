/// One client's conversation as a value, with no I/O: what the client's lines ask the server to
/// do. The server around it claims names, delivers messages and writes lines.
///
/// A client first gives a name. An empty one is asked again; a name is claimed cluster-wide, and
/// one in use anywhere is refused and asked again. Then a line is said to everyone, unless it is
/// a command: `/tell WHO text`, `/kick WHO`, `/quit`; any other `/…` is unrecognised. Lines the
/// client types while its name is being claimed wait for the answer.
public struct ChatSession: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case naming
        case claiming(String)
        case chatting(String)
        case closed
    }

    /// What the server is to do for the client.
    public enum Action: Sendable, Equatable {
        /// Write a line to this client.
        case send(String)
        /// Claim the name cluster-wide; answer with ``ChatSession/claimed(_:)``.
        case claim(String)
        /// Say `text` to every client on every server.
        case say(String)
        /// Show `text` to the client named `to` only.
        case tell(to: String, text: String)
        /// Disconnect the client named `who`.
        case kick(String)
        /// Disconnect this client.
        case quit
    }

    public private(set) var state: State = .naming
    private var waiting: [String] = []

    public init() {}

    /// The client's name, once it has one.
    public var name: String? {
        if case .chatting(let name) = state { return name }
        return nil
    }

    /// What to do when the client connects.
    public func started() -> [Action] { [.send(ChatText.askName)] }

    /// What to do with a line the client sent (without its line ending).
    public mutating func received(_ line: String) -> [Action] {
        switch state {
        case .naming:
            let name = line.trimmingWhitespace()
            guard !name.isEmpty else { return [.send(ChatText.askName)] }
            state = .claiming(name)
            return [.claim(name)]
        case .claiming:
            waiting.append(line)
            return []
        case .chatting:
            return command(line)
        case .closed:
            return []
        }
    }

    /// What to do once the claim of the name has been answered.
    public mutating func claimed(_ granted: Bool?) -> [Action] {
        guard case .claiming(let name) = state else { return [] }
        guard let granted else {
            state = .naming
            waiting = []
            return [.send(ChatText.namesUnavailable), .send(ChatText.askName)]
        }
        guard granted else {
            state = .naming
            // What was typed meanwhile is a name to try next.
            let next = waiting
            waiting = []
            var actions: [Action] = [.send(ChatText.nameInUse(name)), .send(ChatText.askName)]
            for line in next { actions += received(line) }
            return actions
        }
        state = .chatting(name)
        let next = waiting
        waiting = []
        return next.flatMap { received($0) }
    }

    /// The client is gone (it quit, was kicked, or its connection closed).
    public mutating func close() {
        state = .closed
        waiting = []
    }

    private func command(_ line: String) -> [Action] {
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        switch words.first {
        case "/kick" where words.count == 2:
            return [.kick(words[1])]
        case "/tell" where words.count >= 2:
            return [.tell(to: words[1], text: words.dropFirst(2).joined(separator: " "))]
        case "/quit" where words.count == 1:
            return [.quit]
        case let first? where first.hasPrefix("/"):
            return [.send(ChatText.unrecognised(line))]
        default:
            return [.say(line)]
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
