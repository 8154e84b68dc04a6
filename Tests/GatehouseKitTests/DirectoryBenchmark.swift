import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// The directory at national scale (issue 16's benchmark): a log of N admissions (default
/// 100,000), `network publish` of 1,000 more, a gateway's sync of them, one inclusion proof check
/// and a partner lookup. Runs only with GATEHOUSE_BENCH_DIRECTORY=N (`make bench-directory`).
@Suite("directory benchmark")
struct DirectoryBenchmark {
    static let size = ProcessInfo.processInfo.environment["GATEHOUSE_BENCH_DIRECTORY"].flatMap { Int($0) }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// The i-th synthetic organisation's admission: its own keys, from public test labels.
    static func admission(_ i: Int, at now: UInt64) throws -> DirectoryEntry {
        let code = "B" + String(repeating: "0", count: 7 - String(i).count) + String(i)
        func key(_ role: String) -> SigningSecretKey {
            try! SigningSecretKey(seed: TestOrganisation.testSeed("bench-\(i)-\(role)"))
        }
        let card = try IdentityCard.make(
            org: try ODSCode(code), name: "Bench Practice \(i)", root: key("root"),
            signingKey: key("signing").publicKey,
            encryptionKey: try AgreementSecretKey(secret: TestOrganisation.testSeed("bench-\(i)-encryption")).publicKey,
            created: now, sshKey: key("ssh").publicKey, mailbox: "sftp://gatehouse@relay.nhs.example:2222/\(code)")
        return try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 365 * 86_400)
    }

    /// Where `scripts/bench-directory.sh` wants the network written (GATEHOUSE_BENCH_DIRECTORY_OUT).
    static let output = ProcessInfo.processInfo.environment["GATEHOUSE_BENCH_DIRECTORY_OUT"]

    /// For `scripts/bench-directory.sh` (which times the release binary on it): an authority home
    /// in OUT/authority whose published log holds N admissions and which has 1,000 more staged;
    /// prints the time of one inclusion proof check on that log.
    @Test(.enabled(if: size != nil && output != nil)) func writeNetwork() throws {
        let n = Self.size ?? 0
        let authority = NetworkAuthority(home: GatehouseHome(path: Self.output! + "/authority"))
        let card = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/bench")
        let key = try authority.loadRootKey()
        let now = KeyStore.now()
        var log = DirectoryLog()
        for i in 0..<n { log.append(try Self.admission(i, at: now)) }
        for (path, bytes) in log.tiles(since: 0) { try authority.log.write(path, bytes) }
        let checkpoint = try log.checkpoint(verifier: card.verifier, key: key, time: now)
        try authority.log.writeCheckpoint(checkpoint.bytes)
        for i in n..<(n + 1000) { try authority.stage(try Self.admission(i, at: now)) }
        // One proof check as a gateway makes it for a directory partner: the proof (from its copy's
        // tree) checked against the signed checkpoint, for entries spread over the log.
        let body = try Checkpoint.open(checkpoint.bytes, verifier: card.verifier).0
        var times: [Double] = []
        for i in 0..<1001 {
            let index = UInt64((i * 7919) % n)
            times.append(try Self.seconds {
                let proof = try log.tree.inclusionProof(index: index, treeSize: body.size)
                try MerkleProof.verifyInclusion(
                    leafHash: MerkleHash.leaf(log.entries[Int(index)]), index: index, treeSize: body.size, proof: proof,
                    root: body.root)
            })
        }
        times.sort()
        print(
            "directory benchmark: inclusion proof made and checked on \(n) entries: p50 "
                + "\(String(format: "%.3f", times[500] * 1000)) ms, max \(String(format: "%.3f", times[1000] * 1000)) ms")
    }

    @Test(.enabled(if: size != nil)) func nationalScale() throws {
        let n = Self.size ?? 0
        let folder = try TemporaryDirectory()
        let authority = NetworkAuthority(home: GatehouseHome(path: folder.appending("authority")))
        let card = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/bench")
        let key = try authority.loadRootKey()
        let now = KeyStore.now()
        var report: [String] = []

        // The existing log, written straight into the authority's folder as if published.
        var log = DirectoryLog()
        let made = try Self.seconds { for i in 0..<n { log.append(try Self.admission(i, at: now)) } }
        for (path, bytes) in log.tiles(since: 0) { try authority.log.write(path, bytes) }
        try authority.log.writeCheckpoint(try log.checkpoint(verifier: card.verifier, key: key, time: now).bytes)
        let logBytes = log.entries.reduce(0) { $0 + $1.count }
        report.append(
            "log of \(n) entries: \(logBytes / 1_000_000) MB of entries, made in \(String(format: "%.1f", made)) s")

        // A gateway that holds it all already.
        let gateway = GatehouseHome(path: folder.appending("gateway"))
        let own = try KeyStore(home: gateway).initialise(org: try ODSCode("A81001"), name: "Riverside Medical Practice")
        let client = DirectoryClient(home: gateway)
        try client.join(card)
        try FileManager.default.copyItem(atPath: authority.log.path, toPath: client.log.path)

        // 1,000 admissions, published into a relay's folder that already serves the log.
        let relay = TileFolder(path: folder.appending("relay-directory"))
        try FileManager.default.copyItem(atPath: authority.log.path, toPath: relay.path)
        for i in n..<(n + 1000) { try authority.stage(try Self.admission(i, at: now)) }
        var publication: NetworkAuthority.Publication?
        let published = try Self.seconds {
            publication = try authority.publish(key: key, now: now + 60, mirrors: [relay.path])
        }
        report.append(
            "network publish of 1,000 admissions onto \(n): \(String(format: "%.2f", published)) s, "
                + "\(publication!.files) tile files written per folder")

        // The gateway's sync: the bytes it reads are the checkpoint and the entry bundles it lacks.
        let needed = TilePath.covering(kind: .entries, hashes: UInt64(n)..<UInt64(n + 1000), total: UInt64(n + 1000))
        let fetched = try needed.reduce(0) { $0 + (try relay.read($1)).count } + (try relay.readCheckpoint()!).count
        var outcome: DirectoryClient.SyncOutcome?
        let synced = try Self.seconds { outcome = try client.sync(from: relay, now: now + 60) }
        #expect(outcome == .updated(UInt64(n)..<UInt64(n + 1000)))
        report.append(
            "gateway sync of 1,000 new entries: \(fetched / 1024) KiB fetched, \(String(format: "%.2f", synced)) s")

        // One inclusion proof check against the signed checkpoint.
        let mirror = try #require(try client.mirror())
        let body = try #require(mirror.body)
        let rounds = 1000
        let proving = try Self.seconds {
            for i in 0..<rounds {
                let index = UInt64((i * 7919) % (n + 1000))
                let proof = try mirror.log.tree.inclusionProof(index: index, treeSize: body.size)
                try MerkleProof.verifyInclusion(
                    leafHash: MerkleHash.leaf(mirror.log.entries[Int(index)]), index: index,
                    treeSize: body.size, proof: proof, root: body.root)
            }
        }
        report.append(
            "inclusion proof, made and checked: \(String(format: "%.3f", proving * 1000 / Double(rounds))) ms each")

        // A partner lookup as seal, send and incoming bundles make it: cold, then warm.
        let store = PartnerStore(home: gateway)
        let target = try ODSCode("B" + String(repeating: "0", count: 7 - String(n / 2).count) + String(n / 2))
        var source: PartnerStore.CardSource?
        let cold = try Self.seconds { source = try store.knownCard(for: target)?.source }
        #expect(source == .directory(index: UInt64(n / 2)))
        let warm = try Self.seconds { for _ in 0..<100 { _ = try store.knownCard(for: target) } } / 100
        report.append(
            "partner lookup: first \(String(format: "%.0f", cold * 1000)) ms (loads and hashes the copy), "
                + "then \(String(format: "%.2f", warm * 1000)) ms each")
        // What the directory adds to sealing a 100 KB record: p50 of sealing it for a pinned
        // partner and for a directory partner (warm, as a running gateway is), side by side.
        let pinnedHome = GatehouseHome(path: folder.appending("pinned"))
        let pinnedCard = try KeyStore(home: pinnedHome).initialise(org: try ODSCode("YOI123"), name: "HMP Northgate Healthcare")
        _ = try PartnerStore(home: gateway).add(pinnedCard)
        let record = try folder.write("record.bin", (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        func p50(_ to: ODSCode) throws -> Double {
            var times: [Double] = []
            for run in 0..<41 {
                var request = SealRequest(paths: [record], recipients: [to])
                request.output = folder.appending("sealed-\(to)-\(run).ghb")
                times.append(try Self.seconds { _ = try Gateway(home: gateway).seal(request) })
            }
            return times.sorted()[times.count / 2]
        }
        let pinnedSeal = try p50(pinnedCard.org), directorySeal = try p50(target)
        report.append("seal of a 100 KB record, p50: pinned partner \(String(format: "%.2f", pinnedSeal * 1000)) ms, "
                      + "directory partner \(String(format: "%.2f", directorySeal * 1000)) ms "
                      + "(\(String(format: "%+.2f", (directorySeal - pinnedSeal) * 1000)) ms)")
        _ = own
        print(report.map { "directory benchmark: " + $0 }.joined(separator: "\n"))
    }
}
