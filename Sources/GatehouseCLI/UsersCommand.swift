import ArgumentParser
import GatehouseKit
import GatehouseWeb

extension Role: ExpressibleByArgument {}

/// `gatehouse users add|list|disable|reset`: staff accounts for the web pages.
struct UsersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage staff accounts for the web pages (gatehouse web).",
        discussion: """
            Accounts live in web/web.sqlite in the home folder (0600, the gateway's user only), \
            with Argon2id password hashes and TOTP secrets. A new or reset account gets a \
            generated password, printed once; at its first sign-in the person enrols an \
            authenticator app (QR code) and from then on signs in with password and code. \
            After 5 failed attempts an account is locked for 1 minute, doubling with each \
            further failure (up to a day); `users reset` unlocks it.

            Roles: clinician (inbox and packs), sender (send and outgoing), admin (everything), \
            intake (no pages: a clinical system posting packs to POST /api/v1/packs). An intake \
            account gets an API token instead of a password, printed once (only its SHA-256 is \
            stored); `users reset` replaces it, `users disable` stops it. Wrong tokens count \
            towards the same lock-out.

            Examples:
              gatehouse users add anna.nurse --role clinician
              gatehouse users add emis.feed --role intake
              gatehouse users list
              gatehouse users reset anna.nurse
              gatehouse users disable anna.nurse
            """,
        subcommands: [Add.self, List.self, Disable.self, Reset.self]
    )

    static func service(_ options: HomeOptions) throws -> AccountService {
        let home = try options.initialised()
        do { return AccountService(store: try UserStore(home: home)) } catch {
            throw CommandFailure(
                status: .ioError, message: error.message, hint: "check the owner and mode of \(home.path)/web")
        }
    }

    static func failure(_ error: WebError) -> CommandFailure {
        switch error.category {
        case .notFound:
            CommandFailure(status: .invalidInput, message: error.message, hint: "`gatehouse users list` shows them")
        case .invalidInput: CommandFailure(status: .invalidInput, message: error.message, hint: nil)
        default: CommandFailure(status: .ioError, message: error.message, hint: nil)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account; prints its generated password once.",
            discussion: """
                The person signs in with it at `gatehouse web` and enrols TOTP there.

                Examples:
                  gatehouse users add anna.nurse --role clinician
                  gatehouse users add mo.manager --role admin --home /var/lib/gatehouse
                  gatehouse users add emis.feed --role intake   # prints an API token instead
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: "The account name (a-z, 0-9, '.', '_', '-', starting with a letter).") var name: String
        @Option(help: "clinician (inbox, packs), sender (send, outgoing), admin (everything) or intake (API token).")
        var role: Role

        func run() throws {
            let password: String
            do { password = try UsersCommand.service(homeOptions).add(name, role: role) } catch let error as WebError {
                throw UsersCommand.failure(error)
            }
            if role == .intake {
                print("added \(name) (intake); API token (shown once, send as Authorization: Bearer): \(password)")
                print("Put it in the clinical system's settings; it opens POST /api/v1/packs only, no pages.")
            } else {
                print("added \(name) (\(role.rawValue)); first sign-in password: \(password)")
                print("Give it to \(name) in person; they set up TOTP at their first sign-in.")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List accounts with role and state.",
            discussion: """
                Examples:
                  gatehouse users list
                """)
        @OptionGroup var homeOptions: HomeOptions

        func run() throws {
            let service = try UsersCommand.service(homeOptions)
            let accounts: [Account]
            do { accounts = try service.store.accounts() } catch { throw UsersCommand.failure(error) }
            guard !accounts.isEmpty else { return print("No accounts yet: `gatehouse users add NAME --role ROLE`.") }
            let now = service.clock.now()
            for account in accounts {
                var state: [String] = []
                if account.disabled { state.append("disabled") }
                if account.lockedUntil > now { state.append("locked") }
                if account.role == .intake {
                    state.append("API token")
                } else {
                    state.append(account.totpSecret == nil ? "TOTP not enrolled" : "TOTP enrolled")
                }
                print("\(account.name)  \(account.role.rawValue)  \(state.joined(separator: ", "))")
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account (it can no longer sign in).",
            discussion: """
                Examples:
                  gatehouse users disable anna.nurse
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: "The account name.") var name: String

        func run() throws {
            do { try UsersCommand.service(homeOptions).disable(name) } catch let error as WebError {
                throw UsersCommand.failure(error)
            }
            print("disabled \(name); its open sessions end at their next request")
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "New password (intake: new API token), TOTP enrolled again, unlocked and enabled.",
            discussion: """
                For a forgotten password, a lost phone or a locked account.

                Examples:
                  gatehouse users reset anna.nurse
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: "The account name.") var name: String

        func run() throws {
            let password: String
            let intake: Bool
            do {
                let service = try UsersCommand.service(homeOptions)
                intake = try service.store.account(name)?.role == .intake
                password = try service.reset(name)
            } catch let error as WebError {
                throw UsersCommand.failure(error)
            }
            let what = intake ? "API token (the old one no longer works)" : "sign-in password"
            print("reset \(name); new \(what): \(password)")
        }
    }
}
