import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Synchronization
import Testing

/// A directory mailbox that counts what is fetched from it.
final class CountingTransport: MailboxTransport {
    let inner: DirectoryTransport
    let fetches = Mutex<[String: Int]>([:])

    init(root: String) { inner = DirectoryTransport(root: root) }

    func deliver(_ path: String, to org: ODSCode, as name: String) async throws { try await inner.deliver(path, to: org, as: name) }
    func list(_ org: ODSCode) async throws -> [String] { try await inner.list(org) }
    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws {
        fetches.withLock { $0[name, default: 0] += 1 }
        try await inner.fetch(name, from: org, to: path, maxBytes: maxBytes)
    }
    func remove(_ name: String, from org: ODSCode) async throws { try await inner.remove(name, from: org) }
}

extension TwoGateways {
    /// The prison's journal record of incoming bundle `id`.
    func incoming(_ id: BundleID) throws -> IncomingRecord? { try SQLiteJournal(path: prisonHome.path + "/journal.sqlite").incoming(id) }

    /// The prison's quarantine folders.
    var prisonQuarantine: [String] { list(prisonHome.path + "/spool/quarantine") }

    func reason(_ folder: String) -> String {
        String(decoding: read("\(prisonHome.path)/spool/quarantine/\(folder)/reason.txt") ?? [], as: UTF8.self)
    }
}

@Suite("Mail the receiver cannot use leaves the mailbox once")
struct UnusableMailTests {
    static func settings(_ change: (inout DaemonSettings) -> Void) -> DaemonSettings {
        var settings = DaemonSettings()
        change(&settings)
        return settings
    }

    /// Issue 13, 5: junk under names that are no bundle, receipt or manifest was logged at every
    /// round and stayed in the mailbox (counting against its quota). Now: moved into quarantine
    /// once, a bounded number per sender.
    @Test func junkNamesAreMovedIntoABoundedQuarantineOnce() async throws {
        let g = try TwoGateways(settings: Self.settings { $0.limits.quarantinePerSender = 3 })
        for i in 0..<5 { try g.put(Array("junk \(i)".utf8), in: "YOI123", as: "junk-\(i).txt") }
        #expect(await g.prison.collect() == 5)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        let kept = g.prisonQuarantine.filter { $0.hasPrefix("unknown-") }
        #expect(kept.count == 3)
        for folder in kept {
            #expect(g.reason(folder).contains("is not a bundle, receipt or key-manifest name"))
            #expect(g.list("\(g.prisonHome.path)/spool/quarantine/\(folder)") == ["item", "reason.txt"])
        }
        #expect(await g.prison.collect() == 0)
    }

    /// Issue 13, 5(b): a bundle claiming A81001 with a key id nobody knows and a creation time 20
    /// years ahead was never expired and was downloaded again every 30 s. Far-future bundles are
    /// refused at once; one with an unknown key waits with its local copy (downloaded once) for
    /// `unknown_sender_hold`, then is refused.
    @Test func unknownKeysWaitOnceAndFarFutureBundlesAreRefusedAtOnce() async throws {
        let folder = try TemporaryDirectory()
        let counting = CountingTransport(root: folder.appending("mailboxes"))
        let g = try TwoGateways(settings: Self.settings { $0.limits.unknownSenderHold = .seconds(120) })
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        var bytes = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        // The sender's key id (header bytes 44..<52, after magic, length, kind, id, created_at and
        // the sender A81001): changed, so the outer signature's key is unknown to the prison.
        let keyOffset = 8 + 4 + 1 + 16 + 8 + 1 + 6
        bytes[keyOffset] ^= 0xFF
        try FileManager.default.createDirectory(atPath: folder.appending("mailboxes/YOI123"), withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: folder.appending("mailboxes/YOI123/\(id).ghb")))
        let prison = try GatewayEngine(gateway: Gateway(home: g.prisonHome), journal: SQLiteJournal(path: g.prisonHome.path + "/journal2.sqlite"),
                                       settings: Self.settings { $0.limits.unknownSenderHold = .seconds(120) }, clock: g.clock,
                                       logger: .init(label: "test"), mailboxes: { _ in counting })
        for _ in 0..<3 {
            #expect(await prison.collect() == 0)
            g.clock.advance(by: 31_000)
        }
        #expect(counting.fetches.withLock { $0["\(id).ghb"] } == 1, "downloaded again while waiting")
        g.clock.advance(by: 40_000)
        #expect(await prison.collect() == 1)
        #expect(try SQLiteJournal(path: g.prisonHome.path + "/journal2.sqlite").incoming(id)?.reason?.hasPrefix("unknown-sender") == true)
        #expect(g.list(folder.appending("mailboxes/YOI123")).isEmpty)

        // 20 years ahead (created_at is header bytes 29..<37, the bundle id 13..<29): refused as expired at the first look.
        var future = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        let ahead = UInt64(g.clock.now() / 1000) + 20 * 365 * 86_400
        let otherID = "00112233445566778899aabbccddeeff"
        for i in 0..<8 { future[29 + i] = UInt8(truncatingIfNeeded: ahead >> (56 - 8 * UInt64(i))) }
        for i in 0..<16 { future[13 + i] = [UInt8](hex: otherID)![i] }
        try Data(future).write(to: URL(fileURLWithPath: folder.appending("mailboxes/YOI123/\(otherID).ghb")))
        #expect(await prison.collect() == 1)
        let record = try #require(try SQLiteJournal(path: g.prisonHome.path + "/journal2.sqlite").incoming(TestID.bundle(otherID)))
        #expect(record.reason?.contains("ahead of this gateway's clock") == true, "\(record.reason ?? "")")
    }

    /// Junk naming a pinned partner as its sender, refused before any signature was checked,
    /// must not make this gateway fill that partner's mailbox with signed receipts: at most one
    /// answer per claimed sender every 10 minutes, and the junk is grouped as unverified.
    @Test func refusalsOfUnprovenBundlesAreAnsweredSparingly() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let genuine = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        try FileManager.default.removeItem(atPath: g.mailboxRoot + "/YOI123/\(id).ghb")
        // Copies with other bundle ids and a date 20 years ahead: refused before verification.
        let ahead = UInt64(g.clock.now() / 1000) + 20 * 365 * 86_400
        for n in 0..<5 {
            var junk = genuine
            for i in 0..<8 { junk[29 + i] = UInt8(truncatingIfNeeded: ahead >> (56 - 8 * UInt64(i))) }
            junk[13] = UInt8(n)
            let junkID = junk[13..<29].map { String(format: "%02x", $0) }.joined()
            try g.put(junk, in: "YOI123", as: "\(junkID).ghb")
        }
        #expect(await g.prison.collect() == 5)
        #expect(g.list(g.mailboxRoot + "/A81001").filter { $0.hasSuffix(".ghr") }.count == 1)
        #expect(g.prisonQuarantine.allSatisfy { g.reason($0).contains("group: unverified") }, "\(g.prisonQuarantine.map(g.reason))")
        // The refused bundles' bytes are kept once, in quarantine; evidence/in keeps the receipts.
        #expect(g.list(g.prisonHome.path + "/spool/evidence/in").allSatisfy { $0.hasSuffix(".ghr") })
    }

    /// Issue 13, "reflected bundles": the practice's own bundle to the prison, put back into the
    /// practice's mailbox (by the prison, or anyone on the relay), was published under
    /// received/A81001/. It is refused, and no receipt goes anywhere.
    @Test func aBundleFromThisOrganisationItselfIsRefused() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", Array("<a nhs=\"9990000018\"/>".utf8)) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let bundle = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        try g.put(bundle, in: "A81001", as: "\(id).ghb")
        #expect(await g.practice.collect() == 1)
        #expect(!FileManager.default.fileExists(atPath: g.practiceHome.path + "/spool/received/A81001"))
        let record = try #require(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").incoming(id))
        #expect(record.state == .rejected && record.reason?.contains("reflected") == true, "\(record.reason ?? "")")
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty, "a receipt was sent to the own mailbox")
        #expect(try g.state(id) == .delivered)
        // Nor does the practice send to itself: a record dropped in outbox/A81001/ goes to failed/.
        guard case .refused(let reason) = try await g.drop("self.txt", [1], to: "A81001") else { Issue.record("claimed"); return }
        #expect(reason.contains("this organisation itself"), "\(reason)")
    }

    /// Issue 13, "size bombs": a small bundle declaring far more than the receiver accepts is
    /// refused at its file table, before anything is written, with a receipt reason of its own;
    /// a bundle file beyond bundle_max_mb is not even downloaded.
    @Test func sizeBombsAreRefusedBeforeAnythingIsWritten() async throws {
        let g = try TwoGateways(settings: Self.settings {
            $0.limits.unpackedMaxBytes = 8 << 20
            $0.limits.bundleMaxBytes = 1 << 20
            $0.limits.filesMax = 2
        })
        // 64 MiB of zeros seals to well under 1 MiB, but declares 64 MiB.
        guard case .claimed(let bomb) = try await g.drop("zeros.bin", [UInt8](repeating: 0, count: 64 << 20)) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        let record = try #require(try g.incoming(bomb))
        #expect(record.state == .rejected && record.reason?.hasPrefix("too-large") == true, "\(record.reason ?? "")")
        #expect(!FileManager.default.fileExists(atPath: g.prisonHome.path + "/spool/received/A81001/\(bomb)"))
        #expect(g.list(g.prisonHome.path + "/spool/work/in").isEmpty, "something was staged")
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(bomb) == .failed)
        let failed = String(decoding: g.read(g.practiceHome.path + "/spool/failed/\(bomb)/reason.txt") ?? [], as: UTF8.self)
        #expect(failed.contains("too-large"), "\(failed)")

        // 2 MiB that does not compress: beyond bundle_max_mb, removed without being downloaded.
        var random = SystemRandomNumberGenerator()
        let noise = (0..<(2 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) }
        guard case .claimed(let big) = try await g.drop("scan.bin", noise) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.reason(big.hex).contains("REFUSED (too-large)") && g.reason(big.hex).contains("not downloaded"))
        #expect(g.list("\(g.prisonHome.path)/spool/quarantine/\(big)") == ["reason.txt"])
    }
}
