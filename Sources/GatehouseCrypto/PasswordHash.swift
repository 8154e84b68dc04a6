internal import CSodium

/// Password hashes for staff accounts: Argon2id through libsodium's `crypto_pwhash_str`, in the
/// PHC string format (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), which carries its own salt and
/// cost so a later, higher cost can be told apart and the hash upgraded at the next sign-in.
public enum PasswordHash {
    /// Hashes `password` with `cost` (libsodium's interactive limits by default: 2 passes, 64 MiB).
    public static func hash(
        _ password: borrowing SecretBytes,
        cost: PassphraseSeal.Cost = .interactive
    ) throws(CryptoError) -> String {
        Sodium.ensureInitialised()
        guard cost.isAcceptable else { throw .invalidKey("Argon2id limits out of range") }
        guard password.count > 0 else { throw .invalidKey("the password is empty") }
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let rc = password.withUnsafeBytes { p in
            crypto_pwhash_str_alg(
                &out, p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count),
                cost.operations, Int(cost.memoryKiB * 1024), crypto_pwhash_ALG_ARGON2ID13)
        }
        guard rc == 0 else { throw .libraryFailure("Argon2id failed (out of memory?)") }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// True when `password` matches `stored`. Only Argon2id strings are accepted: a stored value
    /// of any other form (or with limits beyond what the machine should spend) never matches.
    public static func verify(_ password: borrowing SecretBytes, against stored: String) -> Bool {
        Sodium.ensureInitialised()
        // A hash with huge memory limits, planted in the user file, must not exhaust memory.
        guard stored.hasPrefix("$argon2id$"), let cost = cost(of: stored), cost.isAcceptable,
            password.count > 0
        else { return false }
        let text = Array(stored.utf8CString)
        return password.withUnsafeBytes { p in
            crypto_pwhash_str_verify(text, p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count)) == 0
        }
    }

    /// The cost written in a PHC string (`m=` in KiB, `t=` passes), nil when it has none.
    static func cost(of stored: String) -> PassphraseSeal.Cost? {
        guard let field = stored.split(separator: "$").first(where: { $0.hasPrefix("m=") }) else { return nil }
        var memory: UInt64?
        var passes: UInt64?
        for part in field.split(separator: ",") {
            if part.hasPrefix("m=") { memory = UInt64(part.dropFirst(2)) }
            if part.hasPrefix("t=") { passes = UInt64(part.dropFirst(2)) }
        }
        guard let memory, let passes else { return nil }
        return PassphraseSeal.Cost(operations: passes, memoryKiB: memory)
    }
}
