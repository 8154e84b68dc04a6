import GatehouseCrypto
import GatehouseKit
import GatehouseTesting
import Glibc
import Testing

@testable import GatehouseWeb

@Suite struct AccountTests {
    func service(_ clock: ManualClock) throws -> (TemporaryDirectory, AccountService) {
        let dir = try TemporaryDirectory(prefix: "gatehouse-web")
        let store = try UserStore(path: dir.appending("web.sqlite"))
        return (dir, AccountService(store: store, clock: clock.clock, cost: testCost))
    }

    @Test func storeIsPrivateAndRefusedWhenOthersCanRead() throws {
        let clock = ManualClock()
        let (dir, accounts) = try service(clock)
        var info = stat()
        stat(accounts.store.path, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        chmod(accounts.store.path, 0o644)
        #expect(throws: WebError.self) { try UserStore(path: dir.appending("web.sqlite")) }
    }

    @Test func passwordThenLockOutWithBackOff() throws {
        let clock = ManualClock()
        let (_, accounts) = try service(clock)
        let password = try accounts.add("anna.nurse", role: .clinician)
        #expect(throws: WebError.self) { try accounts.add("anna.nurse", role: .admin) }
        #expect(throws: WebError.self) { try accounts.add("Anna Nurse", role: .admin) }
        guard case .accepted(let account) = try accounts.checkPassword("anna.nurse", password) else {
            Issue.record("the right password was refused")
            return
        }
        #expect(account.role == .clinician)
        #expect(try accounts.checkPassword("nobody", password) == .refused)
        for _ in 1..<AccountService.lockAfter { #expect(try accounts.checkPassword("anna.nurse", "guess") == .refused) }
        let locked = try accounts.checkPassword("anna.nurse", "guess")
        #expect(locked == .locked(until: clock.now + AccountService.firstLock))
        // Locked: even the right password is refused, until the lock ends.
        #expect(
            try accounts.checkPassword("anna.nurse", password) == .locked(until: clock.now + AccountService.firstLock))
        clock.advance(seconds: 61)
        // One more failure after the lock: twice as long.
        #expect(
            try accounts.checkPassword("anna.nurse", "guess")
                == .locked(until: clock.now + 2 * AccountService.firstLock))
        clock.advance(seconds: 121)
        guard case .accepted = try accounts.checkPassword("anna.nurse", password) else {
            Issue.record("the lock did not end")
            return
        }
        // A reset unlocks at once and issues a new password; the old one stops working.
        for _ in 0..<AccountService.lockAfter { _ = try accounts.checkPassword("anna.nurse", "guess") }
        let fresh = try accounts.reset("anna.nurse")
        #expect(try accounts.checkPassword("anna.nurse", password) == .refused)
        guard case .accepted = try accounts.checkPassword("anna.nurse", fresh) else {
            Issue.record("reset did not unlock")
            return
        }
        try accounts.disable("anna.nurse")
        #expect(try accounts.checkPassword("anna.nurse", fresh) == .refused)
    }

    @Test func totpCodesAreSingleUseAndCountAsFailures() throws {
        let clock = ManualClock()
        let (_, accounts) = try service(clock)
        _ = try accounts.add("rita.reception", role: .sender)
        let secret = TOTP.newSecret()
        let totp = TOTP(secret: secret)
        let code = totp.code(counter: totp.counter(at: clock.now / 1000))
        // Enrolment: the pending secret is stored only when a code from it is accepted.
        #expect(
            try accounts.checkCode("rita.reception", "000000", pendingSecret: secret) == .refused
                || code == "000000")
        guard case .accepted(let enrolled) = try accounts.checkCode("rita.reception", code, pendingSecret: secret)
        else {
            Issue.record("the enrolment code was refused")
            return
        }
        #expect(enrolled.totpSecret == secret)
        // The same code again (a replay) is refused.
        #expect(try accounts.checkCode("rita.reception", code) == .refused)
        clock.advance(seconds: 30)
        guard
            case .accepted = try accounts.checkCode(
                "rita.reception", totp.code(counter: totp.counter(at: clock.now / 1000)))
        else {
            Issue.record("the next code was refused")
            return
        }
    }
}

@Suite struct SessionTests {
    @Test func idleAndAbsoluteTimeOuts() async {
        let clock = ManualClock()
        let store = SessionStore(clock: clock.clock, idleTimeout: 15 * 60_000, lifetime: 8 * 3_600_000)
        let anonymous = await store.create()
        let signedIn = await store.advance(anonymous.id, to: .signedIn, user: "anna.nurse", role: .clinician)
        // Fixation: the id before sign-in is dead, and the new one has a new CSRF token.
        #expect(await store.touch(anonymous.id) == nil)
        #expect(signedIn.id != anonymous.id && signedIn.csrf != anonymous.csrf)
        clock.advance(seconds: 14 * 60)
        #expect(await store.touch(signedIn.id)?.isSignedIn == true)
        clock.advance(seconds: 15 * 60)
        #expect(await store.touch(signedIn.id) == nil)

        let busy = await store.advance(await store.create().id, to: .signedIn, user: "anna.nurse", role: .clinician)
        for _ in 0..<40 {
            clock.advance(seconds: 14 * 60)
            _ = await store.touch(busy.id)
        }
        // 9 h 20 min of activity: past the 8 h lifetime however busy.
        #expect(await store.touch(busy.id) == nil)
    }

    @Test func floodOfAnonymousSessionsIsBounded() async {
        let clock = ManualClock()
        let store = SessionStore(clock: clock.clock, idleTimeout: 60_000, lifetime: 3_600_000, capacity: 100)
        let keep = await store.advance(await store.create().id, to: .signedIn, user: "a", role: .admin)
        for _ in 0..<1000 { _ = await store.create() }
        #expect(await store.touch(keep.id) != nil)
    }
}
