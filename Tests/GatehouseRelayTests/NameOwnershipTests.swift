import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Testing

@testable import GatehouseRelay

/// In another organisation's mailbox, a receipt `<id>.<ODS>.ghr` and a key manifest
/// `<ODS>.<version>.ghk` are published only by ODS itself; bundles by anyone registered.
@Suite("who may publish which mailbox name")
struct NameOwnershipTests {
    let relay: RelayFixture
    init() throws { relay = try RelayFixture() }

    static let id = BundleID.random()

    @Test(arguments: [
        MailboxName.manifest(from: try! ODSCode("YOI123"), version: 2),
        MailboxName.manifest(from: try! ODSCode("A81001"), version: 7),
        MailboxName.receipt(id, from: try! ODSCode("A81001")),
        MailboxName.receipt(id, from: try! ODSCode("YOI123")),
        MailboxName.heldReceipt(id, from: try! ODSCode("YOI123")),
    ])
    func namesOfAnotherOrganisationAreRefused(name: String) throws {
        let insider = try relay.session("B82002")
        let reply = insider.deliver(Array("forged".utf8), to: "/A81001/\(name)")
        #expect(reply.statusCode?.code == .permissionDenied)
        #expect(reply.statusCode?.message == MailboxPolicy.otherMailboxRefusal, "the same answer as any refusal there")
        insider.end()
        #expect(relay.names("A81001").isEmpty)
        #expect(relay.logLines().contains { $0.contains("is a name only") }, "\(relay.logLines())")
    }

    @Test(arguments: [
        MailboxName.manifest(from: try! ODSCode("B82002"), version: 3),
        MailboxName.receipt(id, from: try! ODSCode("B82002")),
        MailboxName.heldReceipt(id, from: try! ODSCode("B82002")),
        MailboxName.bundle(id),
        // Names the gateways do not use belong to no one (the receiver quarantines them).
        "notes.txt", "\(id.hex).b82002.ghr",
    ])
    func ownNamesAndBundlesArePublished(name: String) throws {
        let sender = try relay.session("B82002")
        #expect(sender.deliver(Array("mine".utf8), to: "/A81001/\(name)").isOK)
        #expect(relay.names("A81001") == [name])
    }

    @Test func theOwnMailboxHasNoNameRules() throws {
        let owner = try relay.session("A81001")
        let name = MailboxName.manifest(from: try ODSCode("YOI123"), version: 2)
        #expect(owner.deliver(Array("kept by the owner".utf8), to: "/A81001/\(name)").isOK)
    }

    @Test func nameOwnersFollowMailboxNameClassify() throws {
        #expect(MailboxServer.nameOwner("YOI123.2.ghk") == (try ODSCode("YOI123")))
        #expect(MailboxServer.nameOwner("\(Self.id.hex).A81001.ghr") == (try ODSCode("A81001")))
        #expect(MailboxServer.nameOwner(MailboxName.bundle(Self.id)) == nil)
        #expect(MailboxServer.nameOwner("YOI123.02.ghk") == nil, "not a manifest name (version not canonical)")
    }
}
