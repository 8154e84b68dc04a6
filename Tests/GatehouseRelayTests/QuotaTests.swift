import GatehouseSFTP
import Glibc
import Testing

@testable import GatehouseRelay

/// Issue 13, vulnerability 5 (a) and (c): 996 junk files from C filled the prison's mailbox
/// quota so A81001's deliveries failed, and four concurrent handles wrote 400 MB into a 200 MiB
/// mailbox. Quotas are now per sender within each mailbox, counted on bytes written by every
/// handle of a session, and counted again on disk.
@Suite("mailbox quotas per sender")
struct QuotaTests {
    let relay: RelayFixture
    init() throws { relay = try RelayFixture() }

    /// Bytes in `org`'s mailbox that `sender` uploaded, finished or not.
    func held(by sender: String, in org: String) throws -> UInt64 {
        MailboxUsage.measure("\(relay.root)/\(org)", sender: try .init(sender)).senderBytes
    }

    @Test func oneSenderFillingItsFileShareLeavesTheMailboxOpenToOthers() throws {
        let quotas = MailboxQuotas(mailboxFiles: 100, senderFiles: 3)
        let insider = try relay.session("B82002", quotas: quotas)
        for _ in 0..<3 { #expect(insider.deliver(Array("junk".utf8), to: "/YOI123/\(bundleName())").isOK) }
        let refused = insider.create("/YOI123/.more.part").reply
        #expect(refused.statusCode?.code == .failure)
        #expect(
            refused.statusCode?.message.contains("B82002's share of YOI123's mailbox is used up") == true, "\(refused)")
        #expect(refused.statusCode?.message.contains("the quota is 3 files a sender, 0 left") == true, "\(refused)")
        // Before, the prison's quota counted every file, whoever sent it: A81001 was locked out.
        let practice = try relay.session("A81001", quotas: quotas)
        #expect(practice.deliver(Array("a discharge summary".utf8), to: "/YOI123/\(bundleName())").isOK)
        #expect(relay.names("YOI123").count == 4)
    }

    @Test func oneSenderFillingItsByteShareLeavesTheMailboxOpenToOthers() throws {
        let quotas = MailboxQuotas(mailboxBytes: 1 << 20, senderBytes: 64 << 10)
        let insider = try relay.session("B82002", quotas: quotas)
        #expect(insider.deliver([UInt8](repeating: 1, count: 64 << 10), to: "/YOI123/\(bundleName())").isOK)
        let (handle, _) = insider.create("/YOI123/.more.part")
        #expect(handle == nil, "no byte of the share is left for a new file")
        let practice = try relay.session("A81001", quotas: quotas)
        #expect(practice.deliver([UInt8](repeating: 2, count: 64 << 10), to: "/YOI123/\(bundleName())").isOK)
    }

    @Test func aRefusedWriteSaysWhichQuotaAndHowMuchIsLeft() throws {
        let quotas = MailboxQuotas(senderBytes: 100)
        let sender = try relay.session("B82002", quotas: quotas)
        let handle = try #require(sender.create("/YOI123/.x.part").handle)
        #expect(sender.write(handle, [UInt8](repeating: 0, count: 60)).isOK)
        let refused = sender.write(handle, [UInt8](repeating: 0, count: 60), at: 60)
        #expect(
            refused.statusCode?.message
                == "B82002's share of YOI123's mailbox is used up: the quota is 100 bytes a sender, "
                + "40 left, 60 more asked for", "\(refused)")
        // Rewriting what is already counted costs nothing; a write far out counts up to its end.
        #expect(sender.write(handle, [UInt8](repeating: 1, count: 60)).isOK)
        #expect(!sender.write(handle, [1], at: 1000).isOK)
    }

    @Test func theWholeMailboxQuotaStillHolds() throws {
        let quotas = MailboxQuotas(mailboxBytes: 100, senderBytes: 1 << 20)
        try relay.place("YOI123/old.ghb", String(repeating: "x", count: 90))
        let sender = try relay.session("B82002", quotas: quotas)
        let handle = try #require(sender.create("/YOI123/.x.part").handle)
        let refused = sender.write(handle, [UInt8](repeating: 0, count: 20))
        #expect(
            refused.statusCode?.message.contains("YOI123's mailbox is full: its quota of 100 bytes") == true,
            "\(refused)")
    }

    @Test func concurrentHandlesOfOneSessionShareOneBudget() throws {
        let share: UInt64 = 256 << 10
        let sender = try relay.session("B82002", quotas: MailboxQuotas(senderBytes: share))
        // Each handle opened while the share was whole: before, each could write all of it.
        let handles = try (0..<6).map { try #require(sender.create("/YOI123/.h\($0).part").handle) }
        let piece = [UInt8](repeating: 7, count: 32 << 10)
        var offset: UInt64 = 0
        var accepted = 0
        for _ in 0..<(Int(share) / piece.count) {
            // Every handle writes the next piece, all requests in flight together.
            for (n, handle) in handles.enumerated() {
                sender.send(.write(id: UInt32(1000 + n), handle: handle, offset: offset, data: piece))
            }
            for _ in handles { if sender.receive()?.isOK == true { accepted += 1 } }
            offset += UInt64(piece.count)
        }
        #expect(UInt64(accepted * piece.count) == share)
        #expect(try held(by: "B82002", in: "YOI123") == share)
    }

    @Test func concurrentSessionsPassAShareByAtMostOneRecountInterval() throws {
        let quotas = MailboxQuotas(senderBytes: 1 << 20)
        let first = try relay.session("B82002", quotas: quotas)
        let second = try relay.session("B82002", quotas: quotas)
        // Both open while the share is whole.
        let a = try #require(first.create("/YOI123/.a.part").handle)
        let b = try #require(second.create("/YOI123/.b.part").handle)
        let piece = [UInt8](repeating: 3, count: 16 << 10)
        var offset: UInt64 = 0
        while first.write(a, piece, at: offset).isOK { offset += UInt64(piece.count) }
        offset = 0
        while second.write(b, piece, at: offset).isOK { offset += UInt64(piece.count) }
        let total = try held(by: "B82002", in: "YOI123")
        #expect(total >= quotas.senderBytes)
        #expect(
            total <= quotas.senderBytes + quotas.recheckBytes,
            "\(total) bytes held; the bound is the share plus \(quotas.recheckBytes)")
    }

    @Test func unfinishedUploadsOfOtherSessionsCount() throws {
        let quotas = MailboxQuotas(senderFiles: 2)
        let first = try relay.session("B82002", quotas: quotas)
        #expect(first.create("/YOI123/.a.part").handle != nil)
        #expect(first.create("/YOI123/.b.part").handle != nil)
        let second = try relay.session("B82002", quotas: quotas)
        #expect(second.create("/YOI123/.c.part").handle == nil)
        // When the first session ends its uploads are removed, and the share is free again.
        first.end()
        #expect(second.create("/YOI123/.c.part").handle != nil)
    }

    @Test func anUploadRemovedFromTheMailboxTakesNoMoreBytes() throws {
        let sender = try relay.session("B82002", quotas: MailboxQuotas(senderBytes: 64 << 10))
        let handle = try #require(sender.create("/YOI123/.x.part").handle)
        #expect(sender.write(handle, [UInt8](repeating: 0, count: 1024)).isOK)
        // The mailbox's owner may no longer remove an upload in progress (issue 18: it is its
        // sender's until published); the relay's operator still can, on the disk.
        let owner = try relay.session("YOI123")
        #expect(owner.request { .remove(id: $0, path: "/YOI123/.x.part") }.isRefusal)
        #expect(unlink("\(relay.root)/YOI123/.x.part") == 0)
        // No count on disk sees the removed file: it would take the whole share again and again.
        let refused = sender.write(handle, [UInt8](repeating: 0, count: 8 << 10), at: 1024)
        #expect(refused.statusCode?.message == "the upload was removed from YOI123's mailbox; it takes no more bytes")
    }

    @Test func uploadsAreTaggedWithTheirSender() throws {
        let sender = try relay.session("B82002")
        let handle = try #require(sender.create("/YOI123/.x.part").handle)
        #expect(UploaderTag.read(path: "\(relay.root)/YOI123/.x.part")?.value == "B82002")
        #expect(sender.close(handle).isOK)
        #expect(sender.publish("/YOI123/.x.part", "/YOI123/x.ghb").isOK)
        #expect(UploaderTag.read(path: "\(relay.root)/YOI123/x.ghb")?.value == "B82002", "the rename keeps the tag")
    }
}
