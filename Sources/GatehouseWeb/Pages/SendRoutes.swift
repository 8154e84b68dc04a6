import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import Glibc
import HTTPTypes
import Hummingbird

/// The *Send* page [sender, admin]: a pinned or directory partner, files, subject, NHS numbers and workflow,
/// dropped into the outbox as one pack through ``PackDrop``, exactly as `gatehouse send` does, for
/// the running gateway to seal into one bundle.
extension WebApp {
    func addSendRoutes(_ router: Router<WebContext>) {
        router.get("/send") { request, context in
            try await self.guarded(request, context, \.sends) { try await self.sendPage(request, context, $0) }
        }
        router.post("/send") { request, context in
            try await self.guarded(request, context, \.sends) { try await self.send(request, context, $0) }
        }
    }

    func sendPage(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        try sendForm(viewer)
    }

    func sendForm(_ viewer: Viewer, error: String? = nil, status: HTTPResponse.Status = .ok) throws -> Response {
        // Every partner `gatehouse send` accepts: pinned ones, then those the joined directory lists.
        let own = try? KeyStore(home: home).loadOwnCard().org
        let recipients = own.flatMap { try? PartnerStore(home: home).recipients(own: $0) } ?? []
        let partners = recipients.map { recipient in
            let name = recipient.source == .pinned ? recipient.card.name : "\(recipient.card.name), from the directory"
            return ["org": recipient.card.org.value, "name": name]
        }
        let config = (try? GatehouseConfig.load(home: home)) ?? GatehouseConfig()
        let workflows = config.workflows.names.map {
            ["name": $0.value, "selected": $0 == config.workflows.defaultWorkflow] as [String: Any]
        }
        var values: [String: Any] = [
            "csrf": viewer.session.csrf, "partners": partners, "workflows": workflows,
            "maxMB": "\(settings.uploadMaxBytes >> 20)",
        ]
        if let error { values["error"] = error }
        var response = page("send", title: "Send a pack", values, viewer: viewer, status: status)
        response.headers[.contentSecurityPolicy] = SendScript.policy
        return response
    }

    func send(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site" { return refusedForm(viewer: viewer) }
        guard let type = request.headers[.contentType], let boundary = Self.boundary(type) else {
            return try sendForm(viewer, error: "The upload was not sent as a form with files.", status: .badRequest)
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }),
            length > settings.uploadMaxBytes + (1 << 20)
        {
            return try sendForm(
                viewer, error: "The files add up to more than \(settings.uploadMaxBytes >> 20) MiB.",
                status: .contentTooLarge)
        }
        var context: PackContext?
        var partner: ODSCode?
        let receiver = UploadReceiver(boundary: boundary, csrf: viewer.session.csrf, limit: settings.uploadMaxBytes) {
            fields throws in
            let (org, checked) = try self.checkSend(fields)
            partner = org
            context = checked
            let outbox = "\(SpoolLayout(home: self.home).outbox)/\(org.value)"
            for folder in [SpoolLayout(home: self.home).root, SpoolLayout(home: self.home).outbox, outbox] {
                if mkdir(folder, 0o700) != 0 && errno != EEXIST {
                    throw UploadReceiver.Refusal(status: 500, message: "The outbox folder \(folder) cannot be created.")
                }
            }
            do { return try PackDrop(outbox: outbox, access: .private) } catch {
                throw UploadReceiver.Refusal(status: 500, message: "The pack cannot be started: \(error)")
            }
        }
        do {
            for try await chunk in request.body { try receiver.feed(chunk) }
        } catch let refusal as UploadReceiver.Refusal {
            receiver.drop?.discard()
            // The rest of the body is not read: the connection closes after the answer, rather
            // than wait for the client to send (perhaps gigabytes) into a full window.
            var response = refusal.status == 403 ? refusedForm(viewer: viewer)
                : try sendForm(viewer, error: refusal.message, status: HTTPResponse.Status(code: refusal.status))
            response.headers[.connection] = "close"
            return response
        } catch {
            receiver.drop?.discard()
            throw error
        }
        // A body cut short (the browser closed, the proxy gave up) is no pack, whatever arrived.
        guard receiver.isComplete else {
            receiver.drop?.discard()
            return try sendForm(viewer, error: "The upload did not complete. Try again.", status: .badRequest)
        }
        guard let drop = receiver.drop, let context, let partner, !receiver.names.isEmpty else {
            receiver.drop?.discard()
            return try sendForm(viewer, error: "Choose at least one file to send.", status: .badRequest)
        }
        let name: String
        do { name = try drop.commit(context: context) } catch {
            drop.discard()
            return try sendForm(viewer, error: "The pack could not be queued: \(error)", status: .internalServerError)
        }
        audit.record(
            "web-send", viewer: viewer, detail: "to=\(partner.value) pack=\(name) files=\(receiver.names.count)")
        let count = receiver.names.count == 1 ? "1 file" : "\(receiver.names.count) files"
        return page(
            "sent", title: "Queued",
            [
                "partner": partner.value, "count": count, "bytes": "\(receiver.bytes)",
                "pack": name,
            ],
            viewer: viewer)
    }

    /// The fields before the files, checked as `gatehouse send` checks them: a pinned or directory
    /// partner that is not this organisation, valid NHS numbers, a readable subject, a listed workflow.
    func checkSend(_ fields: [String: String]) throws -> (ODSCode, PackContext) {
        let refuse = { (message: String, field: String) in
            UploadReceiver.Refusal(status: 400, message: message, field: field)
        }
        guard let org = try? ODSCode(userInput: fields["to"] ?? "") else {
            throw refuse("Choose a partner to send to.", "to")
        }
        // The rule of `gatehouse send` (PartnerStore.requireRecipient): pinned or listed, not itself.
        do {
            let own = try KeyStore(home: home).loadOwnCard().org
            try PartnerStore(home: home).requireRecipient(org, own: own)
        } catch {
            throw refuse(Self.recipientRefusal(org, error), "to")
        }
        let numbers = (fields["nhs"] ?? "").split(whereSeparator: { $0 == "," || $0 == ";" })
            .map { NHSNumber.normalise(String($0)) }.filter { !$0.isEmpty }
        for number in numbers where !NHSNumber.isValid(number) {
            throw refuse("NHS number: \(NHSNumber.invalidMessage(number))", "nhs")
        }
        let config = (try? GatehouseConfig.load(home: home)) ?? GatehouseConfig()
        let workflow = fields["workflow"].flatMap { $0.isEmpty ? nil : $0 }
        let accepted: Workflow
        do { accepted = try config.workflows.accepted(workflow) } catch { throw refuse(error.message, "workflow") }
        do {
            let subject = (fields["subject"] ?? "").trimmed
            let context = PackContext(subject: subject, workflow: accepted, nhsNumbers: numbers)
            try context.check()
            return (org, context)
        } catch { throw refuse(error.detail, "subject") }
    }

    /// Why `org` cannot be sent to, for a person (no server paths).
    static func recipientRefusal(_ org: ODSCode, _ error: KitError) -> String {
        switch error.category {
        case .invalidInput: "\(org.value) is this organisation itself; choose a partner."
        case .unknownPartner:
            "\(org.value) is not a partner: no card is pinned for it and the directory does not list it "
                + "(or its listing was revoked or has expired)."
        default: "The partners cannot be read (\(error.category.rawValue)). Tell the system administrator."
        }
    }

    /// The boundary of a `multipart/form-data` content type (1 to 70 safe characters).
    static func boundary(_ contentType: String) -> String? {
        let lower = contentType.lowercased()
        guard lower.hasPrefix("multipart/form-data"), let range = lower.range(of: "boundary=") else { return nil }
        var value = String(contentType[range.upperBound...])
        if let end = value.firstIndex(of: ";") { value = String(value[..<end]) }
        value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        guard (1...70).contains(value.utf8.count), value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return value
    }
}
