import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit

extension NetworkCommand {
    /// `gatehouse network witness init|cosign`.
    struct Witness: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a witness that cosigns the network's checkpoints once it has verified them.",
            discussion: """
                A witness cosigns (C2SP tlog-cosignature, Ed25519) only a checkpoint whose tree \
                extends the last one it cosigned: over HTTP, as C2SP tlog-witness specifies \
                (`serve`; the authority sends each checkpoint with a consistency proof), or by \
                following a published copy of the log as a gateway does (`cosign`). Gateways can \
                require N witnesses (`network require-witnesses`), so a split view must fool the \
                witnesses too.

                Examples:
                  gatehouse network witness init --name witness.nhs.example/w1 --home /srv/witness
                  gatehouse network witness serve england.network-card --home /srv/witness
                  gatehouse network witness cosign england.network-card --from /srv/relay/directory --home /srv/witness
                """,
            subcommands: [Init.self, Cosign.self, Serve.self])

        struct Init: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a witness key; prints the witness key gateways configure.",
                discussion: """
                    Examples:
                      gatehouse network witness init --name witness.nhs.example/w1 --home /srv/witness
                    """)
            @OptionGroup var homeOptions: HomeOptions
            @Option(help: ArgumentHelp("The witness's name (no spaces or '+').", valueName: "name"))
            var name: String

            func run() throws {
                let key = try GatehouseKit.Witness.initialise(home: homeOptions.resolved, name: name)
                print(key.text)
            }
        }

        struct Cosign: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Verify the published log and cosign its checkpoint into the same folder.",
                discussion: """
                    The cosigned checkpoint goes to DIR/witness/KEYID, which relays serve read-only.

                    Examples:
                      gatehouse network witness cosign england.network-card --from /srv/relay/directory
                      gatehouse network witness cosign --from /srv/relay/directory
                    """)
            @OptionGroup var homeOptions: HomeOptions
            @Argument(help: ArgumentHelp("The network's card (the first time only).", valueName: "card"))
            var cardFile: String?
            @Option(
                name: .customLong("from"), help: ArgumentHelp("The folder the log is published in.", valueName: "dir"))
            var source: String

            func run() throws {
                let card = try cardFile.map(NetworkCommand.readNetworkCard)
                let outcome = try GatehouseKit.Witness(home: homeOptions.resolved).cosign(
                    card: card, source: TileFolder(path: source))
                switch outcome {
                case .cosigned(let size): print("Verified and cosigned the checkpoint of \(size) entries.")
                case .refused(let refusal, let evidence):
                    throw CommandFailure(
                        status: .integrityCheckFailed, message: refusal.description + "; not cosigned",
                        hint: "the checkpoint was kept in \(evidence): tell the network authority and the gateways")
                }
            }
        }
    }

    /// `gatehouse network require-witnesses --require N WITNESS_KEY…`.
    struct RequireWitnesses: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "require-witnesses",
            abstract: "Trust a new checkpoint only once N of these witnesses have cosigned it.",
            discussion: """
                Examples:
                  gatehouse network require-witnesses --require 1 witness.nhs.example/w1+1a2b3c4d+BAbc…
                  gatehouse network require-witnesses --require 0      # require none
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Option(help: ArgumentHelp("How many of the witnesses must have cosigned.", valueName: "n"))
        var require: Int
        @Argument(
            help: ArgumentHelp("The witnesses' keys (`network witness init` prints one).", valueName: "witness-key"))
        var keys: [String] = []

        func run() throws {
            let home = try homeOptions.initialised()
            var witnesses: [WitnessKey] = []
            for text in keys {
                do { witnesses.append(try WitnessKey.parse(text)) } catch {
                    throw CommandFailure(
                        status: .invalidInput, message: "\(text) is not a witness key: \(error.detail)", hint: nil)
                }
            }
            try DirectoryClient(home: home).requireWitnesses(witnesses, required: require)
            print("New checkpoints need \(require) of \(witnesses.count) witness cosignatures.")
        }
    }

    /// Reads and parses a network card file a person named.
    static func readNetworkCard(_ file: String) throws -> NetworkCard {
        guard let bytes = try FileOperations.read(at: file, limit: NetworkCard.maxTextLength, followingLinks: true)
        else {
            throw CommandFailure.unreadableInput("cannot read \(file): no such file")
        }
        do { return try NetworkCard.parse(String(decoding: bytes, as: UTF8.self)) } catch {
            throw CommandFailure(
                status: .partnerProblem, message: "\(file) is not a network card: \(error.detail)",
                hint: "ask the network authority for `gatehouse network export-card` output, unchanged")
        }
    }
}
