/// The lines the chat server writes, as in the chat server of *Parallel and Concurrent
/// Programming in Haskell* (chapters 12 and 14). Clients are people at `nc` or telnet, and
/// scripts that read these lines exactly.
public enum ChatText {
    public static let askName = "What is your name?"

    public static func nameInUse(_ name: String) -> String {
        "The name \(name) is in use, please choose another"
    }

    public static func notice(_ text: String) -> String { "*** \(text)" }

    public static func connected(_ name: String) -> String { notice("\(name) has connected") }

    public static func disconnected(_ name: String) -> String { notice("\(name) has disconnected") }

    public static func broadcast(from name: String, _ text: String) -> String { "<\(name)>: \(text)" }

    public static func tell(from name: String, _ text: String) -> String { "*\(name)*: \(text)" }

    public static func notConnected(_ name: String) -> String { "\(name) is not connected." }

    public static func youKicked(_ name: String) -> String { notice("you kicked \(name)") }

    public static func kicked(by name: String) -> String { "You have been kicked: by \(name)" }

    public static func unrecognised(_ line: String) -> String { "Unrecognised command: \(line)" }

    public static func lineTooLong(_ limit: Int) -> String {
        notice("error: a line is at most \(limit) bytes; that one was dropped")
    }

    public static let invalidUTF8 = notice("error: a line must be UTF-8 text; that one was dropped")

    public static let namesUnavailable = notice("error: names cannot be checked right now; please try again")
}
