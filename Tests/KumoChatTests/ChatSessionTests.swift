import Testing

@testable import KumoChatServer

@Suite("Chat session")
struct ChatSessionTests {
    @Test("a name is asked until one is given and granted; an empty one or one in use asks again")
    func naming() {
        var session = ChatSession()
        #expect(session.started() == [.send("What is your name?")])
        #expect(session.received("   ") == [.send("What is your name?")])
        #expect(session.received(" alice ") == [.claim("alice")])
        #expect(session.claimed(false) == [.send("The name alice is in use, please choose another"), .send("What is your name?")])
        #expect(session.state == .naming)
        #expect(session.received("bob") == [.claim("bob")])
        #expect(session.claimed(true) == [])
        #expect(session.name == "bob")
    }

    @Test("lines typed while the name is claimed wait for the answer")
    func typedDuringClaim() {
        var session = ChatSession()
        _ = session.received("alice")
        #expect(session.received("hello") == [])
        #expect(session.claimed(true) == [.say("hello")])
        var refused = ChatSession()
        _ = refused.received("alice")
        _ = refused.received("alicia")
        #expect(refused.claimed(false) == [
            .send("The name alice is in use, please choose another"), .send("What is your name?"), .claim("alicia"),
        ])
        var unavailable = ChatSession()
        _ = unavailable.received("alice")
        #expect(unavailable.claimed(nil).last == .send("What is your name?"))
    }

    @Test("commands as the book parses them: /tell, /kick, /quit; any other /… is unrecognised")
    func commands() {
        var session = ChatSession()
        _ = session.received("carol")
        _ = session.claimed(true)
        #expect(session.received("hello there") == [.say("hello there")])
        #expect(session.received("") == [.say("")])
        #expect(session.received("/tell bob  how   are you") == [.tell(to: "bob", text: "how are you")])
        #expect(session.received("/tell bob") == [.tell(to: "bob", text: "")])
        #expect(session.received("/kick bob") == [.kick("bob")])
        #expect(session.received("/kick bob now") == [.send("Unrecognised command: /kick bob now")])
        #expect(session.received("/kick") == [.send("Unrecognised command: /kick")])
        #expect(session.received("/tell") == [.send("Unrecognised command: /tell")])
        #expect(session.received("/whoami") == [.send("Unrecognised command: /whoami")])
        #expect(session.received("/quit") == [.quit])
        session.close()
        #expect(session.received("anything") == [])
    }
}
