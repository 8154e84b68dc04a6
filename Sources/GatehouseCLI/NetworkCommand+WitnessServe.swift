import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseWitness

extension NetworkCommand.Witness {
    /// `gatehouse network witness serve [CARD] [--listen HOST:PORT]`.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cosign the network's checkpoints over HTTP (C2SP tlog-witness).",
            discussion: """
                Answers POST /add-checkpoint: the network authority sends each new checkpoint \
                with a consistency proof from the last one this witness cosigned; the witness \
                checks the network's signature and the proof, records the checkpoint durably and \
                answers with its cosignature. It never cosigns a smaller tree or one that does \
                not extend the last it cosigned (409 with its latest size, or 422). \
                GET /SHA256(ORIGIN)/checkpoint serves the latest checkpoint cosigned. Listens on \
                loopback unless --listen names another address (put a TLS proxy in front). Runs \
                until SIGTERM or SIGINT.

                Examples:
                  gatehouse network witness serve england.network-card --home /srv/witness
                  gatehouse network witness serve --listen 127.0.0.1:7380 --home /srv/witness
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: ArgumentHelp("The network's card (the first time only).", valueName: "card"))
        var cardFile: String?
        @Option(help: ArgumentHelp("Address to listen on (default 127.0.0.1:7380).", valueName: "HOST:PORT"))
        var listen = "127.0.0.1:7380"

        func run() async throws {
            let witness = GatehouseKit.Witness(home: homeOptions.resolved)
            let key = try witness.publicKey()
            let client = DirectoryClient(home: witness.home)
            if let card = try cardFile.map(NetworkCommand.readNetworkCard) { try client.join(card) }
            guard let card = try client.pinnedCard() else {
                throw CommandFailure(
                    status: .invalidInput, message: "this witness follows no network yet",
                    hint: "give the network's card once: `gatehouse network witness serve NETWORK.card`")
            }
            let server = try WitnessServer(witness: witness, address: listen)
            try await server.run { port in
                // Printed once the socket is bound (scripts and tests wait for this line).
                print("gatehouse witness \(key.name): cosigning \(card.network) on http://\(server.host):\(port)/")
                fflush(nil)
            }
        }
    }
}

extension NetworkCommand {
    /// `gatehouse network add-witness --url URL WITNESS_KEY`.
    struct AddWitness: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-witness",
            abstract: "Ask this witness to cosign every checkpoint the network publishes.",
            discussion: """
                From the next `network publish` on, the checkpoint is sent to URL/add-checkpoint \
                with a consistency proof, and the cosigned copy is written to witness/KEYID beside \
                the checkpoint, where gateways that require witnesses read it.

                Examples:
                  gatehouse network add-witness --url https://witness.nhs.example/w1 witness.nhs.example/w1+1a2b3c4d+BAbc…
                """)
        @OptionGroup var homeOptions: HomeOptions
        @Option(help: ArgumentHelp("The witness's submission URL prefix.", valueName: "url"))
        var url: String
        @Argument(help: ArgumentHelp("The witness's key (`network witness init` prints it).", valueName: "witness-key"))
        var key: String

        func run() throws {
            let authority = NetworkAuthority(home: homeOptions.resolved)
            _ = try authority.card()
            let witness: WitnessKey
            do { witness = try WitnessKey.parse(key) } catch {
                throw CommandFailure(status: .invalidInput, message: "\(key) is not a witness key: \(error.detail)", hint: nil)
            }
            try authority.addWitness(url: url, key: witness)
            print("Checkpoints will be sent to \(witness.name) at \(url) from the next `network publish` on.")
        }
    }

    /// How the authority reaches a witness: one bounded HTTP POST (10 s a step).
    static let witnessPost: WitnessPost = { url, body throws(KitError) in
        do throws(NotifyError) {
            let answer = try HTTPPost.send(body, to: url, contentType: "text/plain; charset=utf-8", timeout: .seconds(10))
            return (answer.status, answer.body)
        } catch { throw .io("cannot reach the witness at \(url): \(error.message)") }
    }

    /// Prints what each witness did; fails (status 11) when one did not cosign, after the
    /// publication, which stands.
    static func report(_ witnesses: [WitnessOutcome]) throws {
        var failed = 0
        for outcome in witnesses {
            switch outcome {
            case .cosigned(let witness, _): print("witness:        \(witness.key.name) cosigned")
            case .failed(let witness, let reason):
                failed += 1
                FileHandle.standardError.write(
                    Data("gatehouse: warning: witness \(witness.key.name) did not cosign: \(reason)\n".utf8))
            }
        }
        guard failed == 0 else {
            throw CommandFailure(
                status: .partnerProblem,
                message: "published, but \(failed) of \(witnesses.count) witnesses did not cosign the checkpoint",
                hint: "gateways that require them keep the checkpoint they trusted; once the witness is back, "
                    + "run `gatehouse network publish` again (it asks again)")
        }
    }
}
