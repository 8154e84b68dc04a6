import GatehouseFormat
import GatehouseKit
import GatehouseSFTPClient

extension HomeDoctor {
    /// The mailboxes of `orgs` on one relay, checked as the daemon uses them: the SSH greeting;
    /// then a session as the daemon makes it (this organisation's key, the host key pinned by
    /// the address, `BatchMode`) that lists the own mailbox and creates and removes a probe file
    /// (a dot-name, never listed or collected) in it and in each partner's mailbox there. A banner
    /// alone said OK while the relay refused the key or presented another host key.
    func relayMailboxes(_ server: SFTPServerAddress, orgs: [ODSCode], own: ODSCode,
                        connector: MailboxConnector) async -> [DoctorFinding] {
        let check = "mailbox " + orgs.map(\.value).joined(separator: ",")
        let relay = "the relay \(server.host):\(server.port)"
        let notMeasured = orgs.contains(own)
            ? [DoctorFinding("clock skew", .warning, "not measured: \(relay) cannot be used", fix: Self.skewFix)] : []
        let greeting = await relayGreeting(server, check: check)
        guard greeting.level == .ok else { return [greeting] + notMeasured }
        let transport: SFTPTransport
        do {
            var ssh = try connector.sshInvocation(for: orgs.contains(own) ? own : orgs[0])
            ssh.connectTimeout = Int(max(1, timeout.components.seconds))
            transport = SFTPTransport(address: server, ssh: ssh)
        } catch {
            let fix = "run doctor as the user that runs Gatehouse (it reads keys/ and writes ssh/)"
            let message = "no SSH session to \(relay) can be started: \(error)"
            return [DoctorFinding(check, .problem, message, fix: fix)] + notMeasured
        }
        var findings: [DoctorFinding] = []
        var measured = false
        // Own mailbox first: listing it is what collecting does, and the first request logs in.
        for org in orgs.filter({ $0 == own }) + orgs.filter({ $0 != own }) {
            let probe = await bounded(transport) { transport in
                let listed = org == own ? try await transport.list(org).count : nil
                let before = Int64(KeyStore.now())
                let relayTime = Int64(try await transport.serverTime(in: org))
                // Against the middle of the exchange: the probe was made between `before` and now.
                return (listed, relayTime - (before + Int64(KeyStore.now())) / 2)
            }
            switch probe {
            case .success(let (listed, skew))?:
                let what = listed.map { "lists (\($0) item(s)) and took" } ?? "took, from \(own),"
                let message = "logged in to \(relay) as \(server.user) with \(own)'s key, host key "
                    + "\(server.hostKeyFingerprint) as pinned; \(org)'s mailbox \(what) a probe file "
                    + "(created and removed)"
                findings.append(DoctorFinding("mailbox \(org)", .ok, message))
                if org == own {
                    findings.append(skewFinding(skew, against: relay))
                    measured = true
                }
            case .failure(let error as SFTPTransportError)?:
                // No session at all: one finding for every mailbox at this address.
                // The fix says what to do; the message says only what happened (not the advice twice).
                var said = "\(error)"
                if case .unreachable(_, let cause) = error, let problem = SSHDiagnosis.problem(cause, address: server) {
                    said = problem
                }
                findings.append(DoctorFinding(check, .problem, "\(greeting.message), but no session: \(said)",
                                              fix: Self.loginFix(error, server: server, own: own)))
                await transport.close()
                return findings + (measured ? [] : notMeasured)
            case .failure(let error)?:
                findings.append(Self.refusedProbe(error, in: org, own: own, relay: relay))
            case nil:
                let fix = "check the relay's log; a relay under heavy load, or a firewall that drops the session "
                    + "after the greeting, does this"
                findings.append(DoctorFinding(check, .problem, "\(relay) answered its greeting but did not complete a "
                                              + "session in time", fix: fix))
                await transport.close()
                return findings + (measured ? [] : notMeasured)
            }
        }
        await transport.close()
        return findings + (measured ? [] : notMeasured)
    }

    /// A session was made, but the relay refused to list `org`'s mailbox or take the probe file.
    static func refusedProbe(_ error: any Error, in org: ODSCode, own: ODSCode, relay: String) -> DoctorFinding {
        guard org == own else {
            let message = "\(relay) refused a probe file from \(own) in \(org)'s mailbox: \(error)"
            return DoctorFinding("mailbox \(org)", .problem, message,
                                 fix: "the relay's operator registers \(org) with `gatehouse relay add CARD` "
                                    + "(\(org)'s card); until then nothing can be delivered to \(org) there")
        }
        return DoctorFinding("mailbox \(org)", .problem, "\(relay) accepted \(own)'s key but its own mailbox cannot be "
                             + "listed or take a probe file: \(error)",
                             fix: "the relay's operator registers \(own) with `gatehouse relay add CARD` (which "
                                + "makes its mailbox); see `gatehouse relay list` there")
    }

    /// What to do when no session could be made, by the cause `ssh` reported.
    static func loginFix(_ error: SFTPTransportError, server: SFTPServerAddress, own: ODSCode) -> String {
        guard case .unreachable(_, let cause) = error else { return "check the relay's log and run doctor again" }
        switch cause {
        case .keyRefused:
            return "at the relay, its operator registers \(own)'s identity card with `gatehouse relay add CARD` "
                + "(make CARD here with `gatehouse identity export -o CARD`)"
        case .hostKeyMismatch(let presented):
            return "expected host key \(server.hostKeyFingerprint), presented \(presented ?? "(another type)"): if "
                + "the relay's key was changed on purpose, take its new address from `gatehouse relay address` on the "
                + "relay into gatehouse.toml or a newly signed card; otherwise something else answers at this address: "
                + "do not use it"
        case .connectionRefused, .timedOut, .unresolved, .other:
            return "check that the relay is running (`gatehouse relay run`), that \(server.host):\(server.port) is its "
                + "address, and that no firewall blocks it"
        }
    }

    /// `body` on `transport`, or nil when it takes longer than three network timeouts (a login
    /// and two requests); the session is closed then, so that nothing is left waiting.
    func bounded<R: Sendable>(
        _ transport: SFTPTransport, _ body: @escaping @Sendable (SFTPTransport) async throws -> R
    ) async -> Result<R, any Error>? {
        await withTaskGroup(of: Result<R, any Error>?.self) { group in
            group.addTask { do { return .success(try await body(transport)) } catch { return .failure(error) } }
            group.addTask { [timeout] in
                guard (try? await Task.sleep(for: timeout * 3)) != nil else { return nil }
                await transport.close()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
