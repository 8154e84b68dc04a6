import Foundation
public import GatehouseFormat

/// Sends an `add-checkpoint` body to a witness's URL and returns the HTTP status and body; a
/// transport failure (no connection, time-out, TLS) throws `io`. Injected, so that the
/// authority's logic has no HTTP client of its own.
public typealias WitnessPost = @Sendable (_ url: String, _ body: [UInt8]) throws(KitError) -> (status: Int, body: [UInt8])

/// What one witness answered to a publication.
public enum WitnessOutcome: Sendable, Equatable {
    /// It cosigned: the checkpoint with the log's signature and the witness's cosignature.
    case cosigned(NetworkAuthority.WitnessEndpoint, SignedNote)
    /// It did not: why, in words.
    case failed(NetworkAuthority.WitnessEndpoint, String)
}

extension NetworkAuthority {
    /// A witness the authority asks: its submission URL prefix and its key.
    public struct WitnessEndpoint: Sendable, Equatable {
        /// The URL prefix; requests go to `url/add-checkpoint`.
        public let url: String
        /// The witness's cosignature key.
        public let key: WitnessKey
    }

    /// `HOME/network/witnesses`: one witness a line, `URL WITNESS-KEY`.
    public var witnessesPath: String { folder + "/witnesses" }

    /// The witnesses asked at every publication.
    public func witnesses() throws(KitError) -> [WitnessEndpoint] {
        guard let bytes = try FileOperations.read(at: witnessesPath, limit: 64 * 1024) else { return [] }
        var found: [WitnessEndpoint] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let key = try? WitnessKey.parse(String(parts[1])) else {
                throw .invalidCard("\(witnessesPath): \(String(line).debugDescription) is not 'URL WITNESS-KEY'")
            }
            found.append(WitnessEndpoint(url: String(parts[0]), key: key))
        }
        return found
    }

    /// Asks the witness `key` at `url` (an `http://` or `https://` prefix) from the next
    /// publication on; replaces the URL of a witness already listed.
    public func addWitness(url: String, key: WitnessKey) throws(KitError) {
        guard url.hasBytePrefix("http://") || url.hasBytePrefix("https://"),
            url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { throw .invalidInput("\(url.debugDescription) is not an http:// or https:// URL") }
        let prefix = url.hasByteSuffix("/") ? String(url.dropLast()) : url
        let listed = try witnesses().filter { $0.key != key } + [WitnessEndpoint(url: prefix, key: key)]
        let text = listed.map { "\($0.url) \($0.key.text)\n" }.joined()
        try FileOperations.replaceAtomically(at: witnessesPath, contents: Array(text.utf8), mode: 0o644)
    }

    /// Asks every configured witness to cosign `checkpoint` (C2SP tlog-witness `add-checkpoint`),
    /// first with a proof from `previous` (the size published before), then, when the witness
    /// answers 409 with the size it cosigned last, once more from that size.
    func requestCosignatures(
        of checkpoint: SignedNote, log: DirectoryLog, previous: UInt64, post: WitnessPost
    ) throws(KitError) -> [WitnessOutcome] {
        try witnesses().map { witness in
            do throws(KitError) {
                return .cosigned(witness, try requestCosignature(witness, checkpoint, log, previous, post))
            } catch { return .failed(witness, error.message) }
        }
    }

    private func requestCosignature(
        _ witness: WitnessEndpoint, _ checkpoint: SignedNote, _ log: DirectoryLog, _ previous: UInt64,
        _ post: WitnessPost
    ) throws(KitError) -> SignedNote {
        var old = min(previous, log.size)
        for _ in 0..<2 {
            let body: [UInt8]
            do {
                body = try AddCheckpointRequest(
                    oldSize: old, proof: try log.tree.consistencyProof(from: old, to: log.size),
                    checkpoint: checkpoint.bytes
                ).bytes
            } catch { throw .invalidInput(error.detail) }
            let answer = try post(witness.url + "/add-checkpoint", body)
            switch answer.status {
            case 200:
                do { return try AddCheckpointRequest.cosigned(checkpoint, answer: answer.body, by: witness.key) } catch {
                    throw .invalidCard("\(witness.url) answered without a valid cosignature: \(error.detail)")
                }
            case 409:
                let text = String(decoding: answer.body, as: UTF8.self)
                guard text.hasByteSuffix("\n"), let size = UInt64(text.dropLast()), text.dropLast().sameBytes(String(size))
                else { throw .invalidCard("\(witness.url) answered 409 without its latest size") }
                // A witness that cosigned a larger tree of this log saw a checkpoint this
                // authority never published here: a second history, or the root key in other hands.
                guard size <= log.size else {
                    throw .invalidCard(
                        "\(witness.url) has cosigned a tree of \(size) entries for this network, larger than the "
                            + "\(log.size) published: find out who signed it")
                }
                guard size != old else { throw .invalidCard("\(witness.url) answered 409 for its own latest size") }
                old = size
            default:
                let text = String(decoding: answer.body.prefix(300), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                throw .invalidCard("\(witness.url) refused (HTTP \(answer.status)): \(text)")
            }
        }
        throw .invalidCard("\(witness.url) kept answering 409")
    }
}
