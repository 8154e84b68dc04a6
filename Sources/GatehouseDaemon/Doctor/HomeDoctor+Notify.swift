import Glibc
import GatehouseKit
import GatehouseNotify

extension HomeDoctor {
    /// The `[notify]` targets: the command can be run, the webhook answers (a connection and, for
    /// `https://`, a verified TLS handshake; nothing is posted) and its secret file is usable.
    /// A target that cannot be reached is a warning: records still travel, but nobody is told.
    func notifyTargets(_ settings: NotifySettings) async -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if let command = settings.command {
            let program = command.argv[0]
            var info = stat()
            if stat(program, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(program, X_OK) == 0 {
                findings.append(DoctorFinding("notify command", .ok, "\(program) can be run"))
            } else {
                findings.append(DoctorFinding("notify command", .warning, "\(program) is missing or cannot be run by this user",
                                              fix: "install it or correct [notify.command] argv, then `gatehouse notify test`"))
            }
        }
        if let webhook = settings.webhook {
            do {
                let answer = try await WebhookTarget(webhook).probe(timeout: timeout)
                findings.append(DoctorFinding("notify webhook", .ok, answer))
            } catch {
                findings.append(DoctorFinding("notify webhook", .warning, error.message, fix: Self.notifyFix(error.category)))
            }
        }
        return findings
    }

    static func notifyFix(_ category: NotifyError.Category) -> String {
        switch category {
        case .tlsRefused:
            "the receiver's certificate must name its host and chain to the system's authorities or to [notify.webhook] ca_file"
        case .invalidTarget: "correct [notify.webhook] (url, ca_file, secret_file: mode 0600), then `gatehouse notify test`"
        default: "check that the receiver runs and this machine may reach it (firewall, proxy), then `gatehouse notify test`"
        }
    }
}
