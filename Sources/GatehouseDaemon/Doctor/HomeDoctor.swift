import Foundation
import Glibc
public import GatehouseKit
import GatehouseFormat
import Logging

/// `gatehouse doctor`: checks a home folder without the daemon — key file permissions, the
/// configuration, the own and partners' cards and their expiry, mailbox reachability, free disk
/// space in the spool, and clock skew against the mailbox server.
public struct HomeDoctor: Sendable {
    let home: GatehouseHome
    /// Time allowed for each network check.
    let timeout: Duration
    let now: UInt64

    /// A doctor for `home`.
    public init(home: GatehouseHome, timeout: Duration = .seconds(3), now: UInt64 = KeyStore.now()) {
        self.home = home
        self.timeout = timeout
        self.now = now
    }

    /// Free space in the spool below either of these is a warning...
    static let warnBytes: UInt64 = 1 << 30
    static let warnFraction = 0.05
    /// ...and below either of these a problem: a bundle being sealed or received may not fit.
    static let problemBytes: UInt64 = 100 << 20
    static let problemFraction = 0.01
    /// Clock skew beyond this is a warning (signed times and expiry checks compare clocks).
    static let skewWarningSeconds: Int64 = 60

    /// Every finding, in the order checked.
    public func run() async -> [DoctorFinding] {
        var findings = keyFiles()
        let config: GatehouseConfig?
        do {
            config = try GatehouseConfig.load(home: home)
            findings.append(DoctorFinding("configuration", .ok, "\(home.configPath) is valid"))
        } catch {
            config = nil
            findings.append(DoctorFinding("configuration", .problem, "\(error)",
                                          fix: "correct \(home.configPath) (`gatehouse config check` explains each setting; `gatehouse config check --default` prints a commented default)"))
        }
        let own: IdentityCard
        do {
            // Read directly: KeyStore.loadOwnCard refuses while a key file is unsafe, which the
            // key-file check has reported already.
            let text = try FileOperations.read(at: home.ownCardPath, limit: IdentityCard.maxTextLength).map { String(decoding: $0, as: UTF8.self) }
            guard let text else { throw KitError.notInitialised("\(home.path) has no Gatehouse identity (no \(home.ownCardPath))") }
            own = try IdentityCard.parse(text)
        } catch {
            findings.append(DoctorFinding("identity", .problem, "\(error)", fix: "run `gatehouse init` here, or point --home at the organisation's home folder (restore keys/ from its backup if it was damaged)"))
            return findings
        }
        findings.append(ownCard(own))
        findings += directory(own: own, staleAfter: (config ?? GatehouseConfig()).directoryStaleAfter)
        let partners = (try? PartnerStore(home: home).list()) ?? []
        if partners.isEmpty {
            findings.append(DoctorFinding("partners", .warning, "no partner cards are pinned, so nothing can be sent or received",
                                          fix: "import each partner's card with `gatehouse partners add CARD` after comparing its fingerprint by phone"))
        }
        findings += partners.map(partnerCard)
        findings += unconfirmedRevocations(own: own, partners: partners, config: config ?? GatehouseConfig())
        if let config {
            findings += journal(own: own, config: config)
            findings += await mailboxes(own: own, partners: partners, config: config)
            findings += await notifyTargets(config.notify)
        }
        findings.append(diskSpace())
        return findings
    }

    // MARK: Keys

    /// Secret key files (`keys/*.key`) must be 0600 (or stricter) and owned by the user running Gatehouse.
    func keyFiles() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let names = (FileOperations.listFolder(home.keysPath) ?? []).filter { $0.hasByteSuffix(".key") }.sorted()
        guard !names.isEmpty else {
            return [DoctorFinding("key files", .problem, "no secret key files in \(home.keysPath)",
                                  fix: "run `gatehouse init`, or restore the keys folder from its backup")]
        }
        let user = geteuid()
        for name in names {
            let path = "\(home.keysPath)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let mode = info.st_mode & 0o777
            if info.st_mode & S_IFMT != S_IFREG {
                findings.append(DoctorFinding("key files", .problem, "\(path) is not a regular file",
                                              fix: "replace it with the key file itself (no symbolic link), restored from backup"))
            } else if info.st_uid != user {
                findings.append(DoctorFinding("key files", .problem, "\(path) is owned by user id \(info.st_uid), not by the user running this (\(user))",
                                              fix: "chown \(user) \(path), or run Gatehouse as the user that owns it"))
            } else if mode & 0o077 != 0 {
                let who = mode & 0o007 != 0 ? "every user on this machine" : "the file's group"
                findings.append(DoctorFinding("key files", .problem,
                                              "\(path) can be read by \(who) (mode \(String(mode, radix: 8))): a secret key must be private",
                                              fix: "chmod 600 \(path); if others may have copied it, rotate the keys with `gatehouse keys rotate`"))
            }
        }
        var folder = stat()
        if stat(home.keysPath, &folder) == 0, folder.st_mode & 0o077 != 0 {
            findings.append(DoctorFinding("key files", .warning, "the folder \(home.keysPath) is open to other users (mode \(String(folder.st_mode & 0o777, radix: 8)))",
                                          fix: "chmod 700 \(home.keysPath)"))
        }
        if findings.isEmpty {
            findings.append(DoctorFinding("key files", .ok, "\(names.count) secret key files, each private (0600) and owned by this user"))
        }
        return findings
    }

    // MARK: Cards

    func ownCard(_ own: IdentityCard) -> DoctorFinding {
        let fix = "run `gatehouse keys rotate` (partners receive the new manifest from the running gateway)"
        let what = "\(own.org)'s key manifest (version \(own.manifest.version))"
        if own.expires <= now {
            return DoctorFinding("identity", .problem, "\(what) expired at \(Self.date(own.expires)): partners refuse what it signs", fix: fix)
        }
        let signingUntil: UInt64? = if case .current(let until) = own.manifest.currentSigning.state { until } else { nil }
        let soonest = min(own.expires, signingUntil ?? .max)
        if soonest <= now + 30 * 86_400 {
            return DoctorFinding("identity", .warning, "\(what) or its signing key expires at \(Self.date(soonest)), within 30 days", fix: fix)
        }
        return DoctorFinding("identity", .ok, "\(what) is valid until \(Self.date(own.expires))")
    }

    func partnerCard(_ card: IdentityCard) -> DoctorFinding {
        let check = "partner \(card.org)"
        let fix = "ask \(card.org) to run `gatehouse keys rotate` (its gateway sends the new manifest), or to send a new card to import with `gatehouse partners add CARD`"
        if card.expires <= now {
            return DoctorFinding(check, .problem, "the card of \(card.org) (\(card.name), manifest version \(card.manifest.version)) expired at \(Self.date(card.expires)): bundles and receipts from it are refused", fix: fix)
        }
        if KeyWarnings.isStale(card, now: now) {
            return DoctorFinding(check, .warning, "the card of \(card.org) (manifest version \(card.manifest.version)) expires at \(Self.date(card.expires)), within 30 days", fix: fix)
        }
        return DoctorFinding(check, .ok, "card of \(card.org) (\(card.name)) valid until \(Self.date(card.expires))")
    }

    /// Partners that have not confirmed a revocation in time (`[keys] revocation_confirm_within`).
    func unconfirmedRevocations(own: IdentityCard, partners: [IdentityCard], config: GatehouseConfig) -> [DoctorFinding] {
        KeyWarnings.unconfirmedRevocations(own: own, partners: partners.map(\.org).filter { $0 != own.org },
                                           ledger: ManifestLedger(home: home), within: config.revocationConfirmWithin, now: now)
            .map { DoctorFinding("revocation", .warning, $0.message,
                                 fix: "keep `gatehouse run` running: it puts the manifest in the partner's mailbox again until the partner confirms it") }
    }

    static func date(_ seconds: UInt64) -> String { RFC3339.format(seconds) ?? "\(seconds)" }

    // MARK: Disk

    /// Free space where the spool lives (the home folder before the first run).
    func diskSpace() -> DoctorFinding {
        let spool = SpoolLayout(home: home).root
        let path = FileManager.default.fileExists(atPath: spool) ? spool : home.path
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else {
            return DoctorFinding("disk space", .warning, "could not read the free space of \(path): \(String(cString: strerror(errno)))")
        }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        let total = max(1, UInt64(fs.f_blocks) * UInt64(fs.f_frsize))
        let fraction = Double(free) / Double(total)
        let words = "\(Self.size(free)) free of \(Self.size(total)) (\(Int(fraction * 100))%) at \(path)"
        let fix = "free space there (old records in spool/sent/ and spool/evidence/ can be archived elsewhere), or give the spool a larger disk"
        if free < Self.problemBytes || fraction < Self.problemFraction {
            return DoctorFinding("disk space", .problem, "\(words): records cannot be sealed or received", fix: fix)
        }
        if free < Self.warnBytes || fraction < Self.warnFraction {
            return DoctorFinding("disk space", .warning, "\(words): less than 1 GiB or 5%", fix: fix)
        }
        return DoctorFinding("disk space", .ok, words)
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
    }
}
