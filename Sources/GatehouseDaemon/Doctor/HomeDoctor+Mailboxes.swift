import Glibc
import GatehouseKit
import GatehouseFormat
import GatehouseSFTPClient
import Logging

extension HomeDoctor {
    /// Each distinct mailbox address (the own one and partners'), checked once: an SFTP relay as
    /// the daemon uses it (see ``relayMailboxes(_:orgs:own:connector:)``); a folder must exist and
    /// take a new file. Clock skew is measured against the own mailbox where that can be done honestly.
    func mailboxes(own: IdentityCard, partners: [IdentityCard], config: GatehouseConfig) async -> [DoctorFinding] {
        let connector = MailboxConnector(home: home, own: own, config: config, logger: Logger(label: "gatehouse.doctor"))
        var findings: [DoctorFinding] = []
        var users: [String: [ODSCode]] = [:]
        var order: [MailboxAddress] = []
        for org in [own.org] + partners.map(\.org) {
            do {
                guard let address = try connector.address(of: org) else {
                    findings.append(DoctorFinding("mailbox \(org)", .problem, "no mailbox address for \(org): its card names none and gatehouse.toml sets none",
                                                  fix: org == own.org ? "set one with `gatehouse identity set-mailbox ADDRESS` and send partners the new card"
                                                                      : "ask \(org) for its card with a mailbox, or set [partners.\(org.value)] mailbox in gatehouse.toml"))
                    continue
                }
                if users[address.description] == nil { order.append(address) }
                users[address.description, default: []].append(org)
            } catch {
                findings.append(DoctorFinding("mailbox \(org)", .problem, "\(error)", fix: "correct the mailbox address in gatehouse.toml or on the card"))
            }
        }
        for address in order {
            let orgs = users[address.description] ?? []
            let check = "mailbox " + orgs.map(\.value).joined(separator: ",")
            switch address {
            case .directory(let path):
                findings.append(folderMailbox(path, check: check))
                if orgs.contains(own.org) { findings.append(folderSkew(path)) }
            case .sftp(let server):
                findings += await relayMailboxes(server, orgs: orgs, own: own.org, connector: connector)
            }
        }
        return findings
    }

    func folderMailbox(_ path: String, check: String) -> DoctorFinding {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            return DoctorFinding(check, .problem, "the mailbox folder \(path) is missing or not a folder",
                                 fix: "create it, or mount the shared folder it lives on")
        }
        if let failure = HealthCheck.probe(path) {
            return DoctorFinding(check, .problem, "the mailbox folder \(path) does not take new files: \(failure)",
                                 fix: "let the user running Gatehouse write there (and check the mount is not read-only)")
        }
        return DoctorFinding(check, .ok, "the mailbox folder \(path) is writable")
    }

    /// The shared folder's file server stamps a new file with its own time.
    func folderSkew(_ path: String) -> DoctorFinding {
        let probe = "\(path)/.doctor-clock-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            return DoctorFinding("clock skew", .warning, "not measured: no file could be written in \(path) (\(String(cString: strerror(errno))))")
        }
        defer { unlink(probe) }
        var byte: UInt8 = 0
        _ = write(fd, &byte, 1)
        var info = stat()
        let stamped = fstat(fd, &info) == 0
        close(fd)
        guard stamped else { return DoctorFinding("clock skew", .warning, "not measured: the probe file in \(path) could not be read back") }
        let skew = Int64(info.st_mtim.tv_sec) - Int64(KeyStore.now())
        return skewFinding(skew, against: "the file system of \(path)")
    }

    static let skewFix = "compare `date -u` on this machine and the relay's; keep both on NTP (`timedatectl` shows whether the clock is synchronised)"

    func skewFinding(_ skew: Int64, against what: String) -> DoctorFinding {
        guard abs(skew) <= Self.skewWarningSeconds else {
            return DoctorFinding("clock skew", .warning, "this clock is \(abs(skew)) s \(skew > 0 ? "behind" : "ahead of") \(what)",
                                 fix: "synchronise both clocks with NTP (`timedatectl`); signed times and expiries compare them")
        }
        return DoctorFinding("clock skew", .ok, "within \(Self.skewWarningSeconds) s of \(what) (\(skew) s)")
    }

    /// A TCP connection to the relay and its SSH banner, within the timeout.
    func relayGreeting(_ server: SFTPServerAddress, check: String) async -> DoctorFinding {
        let fix = "check that the relay is running (`gatehouse relay run` on the relay machine), that \(server.host):\(server.port) is its address, and that no firewall blocks it"
        switch RelayProbe.banner(host: server.host, port: server.port, timeout: timeout) {
        // The banner is whatever the server sent: judged by its bytes and shown escaped, so that
        // an escape sequence or a bidirectional override never reaches the operator's terminal.
        case .success(let banner) where banner.hasBytePrefix("SSH-"):
            return DoctorFinding(check, .ok,
                                 "the relay \(server.host):\(server.port) answers (\(ReadableText.shown(banner)))")
        case .success(let banner):
            let start = String(String.UnicodeScalarView(banner.unicodeScalars.prefix(40)))
            return DoctorFinding(check, .problem, "\(server.host):\(server.port) answers but is not an SSH server "
                                 + "(it said \(ReadableText.shown(start)))", fix: fix)
        case .failure(let reason):
            return DoctorFinding(check, .problem, "cannot reach the relay \(server.host):\(server.port): \(reason.description)", fix: fix)
        }
    }
}
