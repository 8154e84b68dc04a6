import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// The *Audit* page and an outgoing bundle's timeline.
@Suite(.serialized) struct AdminPagesTests {
    @Test func auditPageForAdminsOnlyFilteredByAccount() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        _ = try await nurse.get("/pack/\(web.publishedID)")
        #expect(try await nurse.get("/audit").status == 403)
        var sender = try await web.signIn("rita.reception")
        #expect(try await sender.get("/audit").status == 403)
        var admin = try await web.signIn("mo.manager")
        let page = try await admin.get("/audit?user=anna.nurse")
        #expect(page.status == 200)
        #expect(page.text.contains("web-totp-enrolled") && page.text.contains(web.publishedID))
        #expect(!page.text.contains("user&#61;rita.reception"))
        let entries = try web.auditEntries()
        #expect(entries.filter { $0.user == "anna.nurse" }.count >= 3)
        #expect(entries.contains { $0.user == "mo.manager" && $0.detail?.contains("page=audit") == true })
        await web.stop()
    }

    @Test func aSentPackIsFollowedToItsReceipt() async throws {
        let web = try await WebHarness()
        let id = String(repeating: "ef", count: 16)
        let pack = "send-2026-12-05T06:40:00Z-0011aabb"
        let journal = try SQLiteJournal(path: SpoolLayout(home: web.home).journal)
        var record = OutgoingRecord(
            bundleID: try BundleID(hex: id), partner: try ODSCode("A81001"), createdAt: web.clock.now, expiresAt: web.clock.now + 86_400_000)
        try journal.insert([
            NewOutgoing(record: record, files: [], detail: "claimed", context: PackContext(), pack: pack)
        ])
        var sender = try await web.signIn("rita.reception")
        let waiting = try await sender.get("/outgoing/pack/send-2026-12-05T06:41:00Z-99999999")
        #expect(waiting.status == 200 && waiting.text.contains("http-equiv=\"refresh\""))
        let found = try await sender.get("/outgoing/pack/\(pack)")
        #expect(found.status == 303 && found.header("location") == "/outgoing/\(id)")
        let open = try await sender.get("/outgoing/\(id)")
        #expect(open.text.contains("queued") && open.text.contains("http-equiv=\"refresh\""))
        record.state = .acknowledged
        record.receipt = [1]
        _ = try journal.save(record, detail: "receipt verified")
        let done = try await sender.get("/outgoing/\(id)")
        #expect(done.text.contains("acknowledged") && done.text.contains("verified"))
        #expect(!done.text.contains("http-equiv=\"refresh\""))
        for path in ["/outgoing/pack/..%2F..%2Fkeys", "/outgoing/pack/other", "/outgoing/\(id.uppercased())"] {
            #expect(try await sender.get(path).status == 404, "\(path)")
        }
        var nurse = try await web.signIn("anna.nurse")
        #expect(try await nurse.get("/outgoing/\(id)").status == 403)
        await web.stop()
    }
}

/// The *Health* page.
@Suite(.serialized) struct HealthPageTests {
    @Test func adminsSeePartnersQueueAndDoctorFindings() async throws {
        let web = try await WebHarness()
        var admin = try await web.signIn("mo.manager")
        let page = try await admin.get("/health")
        #expect(page.status == 200)
        #expect(page.text.contains("HMP Northgate Healthcare") && page.text.contains("A81001"))
        #expect(page.text.contains("not confirmed yet") && page.text.contains("queued"))
        let token = try #require(page.csrf)
        #expect(try await admin.post("/health", []).status == 403)
        let checked = try await admin.post("/health", [("csrf", token)])
        #expect(checked.status == 200 && checked.text.contains("key files"))
        #expect(try web.auditEntries().contains { $0.event == "web-doctor" })
        var nurse = try await web.signIn("anna.nurse")
        #expect(try await nurse.get("/health").status == 403)
        await web.stop()
    }
}

/// Previews: text shown as text inside a sandboxed frame, with its own policy.
@Suite(.serialized) struct PreviewTests {
    @Test func textPreviewsAreSandboxedAndAudited() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        let pack = try await nurse.get("/pack/\(web.publishedID)")
        #expect(pack.text.contains("/pack/\(web.publishedID)/view/0"))
        #expect(!pack.text.contains("/pack/\(web.publishedID)/view/1"))  // a PDF: download only
        let holder = try await nurse.get("/pack/\(web.publishedID)/view/0")
        #expect(
            holder.status == 200 && holder.text.contains("<iframe src=\"/pack/\(web.publishedID)/preview/0\" sandbox"))
        #expect(holder.header("content-security-policy")?.hasSuffix("; frame-src 'self'") == true)
        #expect(holder.header("x-frame-options") == "DENY")
        let framed = try await nurse.get("/pack/\(web.publishedID)/preview/0")
        #expect(framed.status == 200 && framed.body == web.fileBytes)
        #expect(framed.header("content-type") == "text/plain; charset=utf-8")
        #expect(framed.header("content-security-policy") == Preview.framePolicy)
        #expect(framed.header("x-frame-options") == "SAMEORIGIN")
        #expect(framed.header("content-disposition")?.hasPrefix("inline; filename=\"summary.xml\"") == true)
        #expect(try web.auditEntries().contains { $0.event == "web-preview" && $0.bundle == web.publishedID })
        #expect(try await nurse.get("/pack/\(web.publishedID)/preview/1").status == 404)
        #expect(try await nurse.get("/pack/\(web.publishedID)/view/1").status == 404)
        var sender = try await web.signIn("rita.reception")
        #expect(try await sender.get("/pack/\(web.publishedID)/preview/0").status == 403)
        await web.stop()
    }
}
