import GatehouseCrypto

/// API tokens for intake accounts: `NAME.` then 64 hex digits (256 random bits), shown once;
/// only SHA-256 of the secret is stored (a fast hash suffices: the secret is not guessable).
extension AccountService {
    /// Gives intake account `name` a new token (the old one stops working); returns it.
    package func issueToken(_ name: String) throws(WebError) -> String {
        guard let account = try store.account(name) else { throw .notFound("there is no account named \(name)") }
        guard account.role == .intake else {
            throw .invalidInput("\(name) is a \(account.role.rawValue) account; only intake accounts have API tokens")
        }
        let secret = randomBytes(32).hexString
        try store.setToken(APIToken(name: name, secretHash: SHA256Hasher.hash(Array(secret.utf8)).bytes))
        return "\(name).\(secret)"
    }

    /// Checks a bearer token. A wrong secret does not count towards the account's lock-out
    /// (see ``AddressThrottle``: the caller slows the address that sent it instead); an account
    /// locked all the same (by an administrator's hand) refuses every token.
    package func checkToken(_ token: String) throws(WebError) -> PasswordOutcome {
        let bytes = Array(token.utf8)
        guard bytes.count <= 200, let dot = bytes.lastIndex(of: 0x2E) else { return .refused }
        let name = String(decoding: bytes[..<dot], as: UTF8.self)
        let given = SHA256Hasher.hash(Array(bytes[(dot + 1)...])).bytes
        guard let account = try store.account(name), account.role == .intake else { return .refused }
        let now = clock.now()
        if account.lockedUntil > now { return .locked(until: account.lockedUntil) }
        guard let stored = try store.token(name), constantTimeEqual(stored.secretHash, given), !account.disabled else {
            return .refused
        }
        return .accepted(account)
    }
}
