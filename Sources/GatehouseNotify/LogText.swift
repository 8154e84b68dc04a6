/// Text a receiver or a command chose, made safe for one log line: control characters become
/// spaces (no forged log lines, no terminal escapes), at most `limit` bytes are looked at.
enum LogText {
    static func line(_ bytes: some Collection<UInt8>, limit: Int = 2048) -> String {
        var line = String.UnicodeScalarView()
        for scalar in String(decoding: bytes.prefix(limit), as: UTF8.self).unicodeScalars {
            line.append(scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) ? " " : scalar)
        }
        while line.last == " " { line.removeLast() }
        while line.first == " " { line.removeFirst() }
        return String(line)
    }
}
