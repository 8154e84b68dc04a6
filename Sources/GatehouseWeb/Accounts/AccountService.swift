import GatehouseCrypto

/// Staff accounts: creation with a generated password, sign-in checks with lock-out and
/// back-off, TOTP enrolment and codes. The clock is injected so tests can pass a lock-out.
package struct AccountService: Sendable {
    package let store: UserStore
    package let clock: WebClock
    /// Argon2id cost for new hashes (tests lower it).
    package let cost: PassphraseSeal.Cost

    /// Consecutive failures before an account is locked.
    package static let lockAfter = 5
    /// The first lock lasts this long (ms); each further failure doubles it, up to a day.
    package static let firstLock: Int64 = 60_000
    static let longestLock: Int64 = 24 * 3_600_000

    package init(store: UserStore, clock: WebClock = .system, cost: PassphraseSeal.Cost = .interactive) {
        self.store = store
        self.clock = clock
        self.cost = cost
    }

    /// Creates `name` with `role` and returns its generated password (shown once); for an
    /// intake account, its API token instead (its password is never shown: it has no pages).
    package func add(_ name: String, role: Role) throws(WebError) -> String {
        try UserName.validate(name)
        let password = Self.generatePassword()
        try store.add(
            Account(
                name: name, role: role, passwordHash: try hash(password), totpSecret: nil, totpLastStep: 0,
                disabled: false, failures: 0, lockedUntil: 0, createdAt: clock.now()))
        return role == .intake ? try issueToken(name) : password
    }

    /// Gives `name` a new generated password, forgets its TOTP secret (enrolled again at the next
    /// sign-in), unlocks and re-enables it; returns the password.
    /// An intake account gets a new API token instead (and is unlocked and re-enabled).
    package func reset(_ name: String) throws(WebError) -> String {
        if try store.account(name)?.role == .intake {
            try store.update(name) { account in
                account.failures = 0
                account.lockedUntil = 0
                account.disabled = false
            }
            return try issueToken(name)
        }
        let password = Self.generatePassword()
        let hashed = try hash(password)
        guard
            try store.update(
                name,
                { account in
                    account.passwordHash = hashed
                    account.totpSecret = nil
                    account.totpLastStep = 0
                    account.failures = 0
                    account.lockedUntil = 0
                    account.disabled = false
                }) != nil
        else { throw .notFound("there is no account named \(name)") }
        return password
    }

    /// Disables `name`: it can no longer sign in (sessions already open end at their next request).
    package func disable(_ name: String) throws(WebError) {
        guard try store.update(name, { $0.disabled = true }) != nil else {
            throw .notFound("there is no account named \(name)")
        }
    }

    /// What a password check found.
    package enum PasswordOutcome: Sendable, Equatable {
        case accepted(Account)
        /// Wrong name or password, or a disabled account: one answer for all, so the page does
        /// not tell which names exist.
        case refused
        /// Too many failures: refused until the lock ends, whatever was typed.
        case locked(until: Int64)
    }

    /// Checks `password` for `name`. A failure counts towards the lock-out.
    package func checkPassword(_ name: String, _ password: String) throws(WebError) -> PasswordOutcome {
        let secret = SecretBytes(copying: Array(password.utf8))
        guard let account = try store.account(name) else {
            // The same Argon2id work for a name that does not exist: timing tells nothing.
            _ = PasswordHash.verify(secret, against: Self.decoyHash)
            return .refused
        }
        let now = clock.now()
        if account.lockedUntil > now { return .locked(until: account.lockedUntil) }
        guard !account.disabled, PasswordHash.verify(secret, against: account.passwordHash) else {
            return try fail(name)
        }
        return .accepted(account)
    }

    /// Checks a TOTP code against `name`'s enrolled secret (or `pendingSecret` while enrolling);
    /// a code is accepted once. Success clears the failure count; a failure counts towards the
    /// lock-out.
    package func checkCode(
        _ name: String, _ code: String, pendingSecret: [UInt8]? = nil
    ) throws(WebError) -> PasswordOutcome {
        guard let account = try store.account(name), !account.disabled else { return .refused }
        let now = clock.now()
        if account.lockedUntil > now { return .locked(until: account.lockedUntil) }
        guard let secret = pendingSecret ?? account.totpSecret,
            let step = TOTP(secret: secret).matchingCounter(code, at: now / 1000), step > account.totpLastStep
        else {
            return try fail(name)
        }
        let updated = try store.update(name) { account in
            account.totpLastStep = step
            account.failures = 0
            if let pendingSecret { account.totpSecret = pendingSecret }
        }
        return updated.map { .accepted($0) } ?? .refused
    }

    /// Clears the failure count after a complete sign-in without a second factor.
    package func succeeded(_ name: String) throws(WebError) {
        try store.update(name) { $0.failures = 0 }
    }

    func fail(_ name: String) throws(WebError) -> PasswordOutcome {
        let now = clock.now()
        let account = try store.update(name) { account in
            account.failures += 1
            if account.failures >= Self.lockAfter {
                let doublings = Int64(min(account.failures - Self.lockAfter, 20))
                account.lockedUntil = now + min(Self.firstLock << doublings, Self.longestLock)
            }
        }
        if let account, account.lockedUntil > now { return .locked(until: account.lockedUntil) }
        return .refused
    }

    private func hash(_ password: String) throws(WebError) -> String {
        do { return try PasswordHash.hash(SecretBytes(copying: Array(password.utf8)), cost: cost) } catch {
            throw .storage("hashing a password: \(error)")
        }
    }

    /// 20 random base-32 letters and digits in four groups (100 bits), e.g. `k3xq7-…`.
    package static func generatePassword() -> String {
        let text = Base32.encode(randomBytes(13)).lowercased().prefix(20)
        return stride(from: 0, to: 20, by: 5).map { i in
            String(text.dropFirst(i).prefix(5))
        }.joined(separator: "-")
    }

    /// A hash of a password nobody knows, checked when the name does not exist.
    static let decoyHash: String = (try? PasswordHash.hash(SecretBytes(copying: randomBytes(16)))) ?? "$argon2id$"
}
