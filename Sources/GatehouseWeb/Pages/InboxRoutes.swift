import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import Hummingbird

/// The *Inbox* page [clinician, admin]: received packs, newest first, 50 a page, searched by a
/// POST form so that NHS numbers and names never appear in a URL (browser history, proxy logs).
extension WebApp {
    static let pageSize = 50

    func addInboxRoutes(_ router: Router<WebContext>) {
        router.get("/inbox") { request, context in
            try await self.guarded(request, context, \.readsInbox) {
                try await self.inbox(request, context, $0, search: false)
            }
        }
        router.post("/inbox") { request, context in
            try await self.guarded(request, context, \.readsInbox) {
                try await self.inbox(request, context, $0, search: true)
            }
        }
    }

    func inbox(_ request: Request, _ context: WebContext, _ viewer: Viewer, search: Bool) async throws -> Response {
        var fields = FormFields([])
        if search {
            guard let form = try await form(request, session: viewer.session) else {
                return refusedForm(viewer: viewer)
            }
            fields = form
        }
        var query = InboxQuery(fields)
        if !search, let page = request.uri.queryParameters.get("page").flatMap({ Int($0) }) {
            query.page = max(0, page)
        }
        let values: [String: Any]
        do {
            values = try inboxValues(query, viewer: viewer)
        } catch let error as WebError {
            return page(
                "inbox", title: "Inbox",
                [
                    "csrf": viewer.session.csrf, "error": error.message,
                    "q": query.echo, "summary": "",
                ], viewer: viewer,
                status: .badRequest)
        }
        // Patient data is shown: audited first (the search terms are not written: they may be
        // NHS numbers or names).
        let detail = "page=inbox search=\(query.isFiltered) p=\(query.page)"
        guard await audit.recordAsync("web-view", viewer: viewer, detail: detail) else { return auditUnavailable(viewer) }
        return page("inbox", title: "Inbox", values, viewer: viewer)
    }

    func auditUnavailable(_ viewer: Viewer) -> Response {
        problem(
            .serviceUnavailable, "Not available",
            "The audit log cannot be written, so patient records are not "
                + "shown. Tell the system administrator.", viewer: viewer)
    }

    func inboxValues(_ query: InboxQuery, viewer: Viewer) throws -> [String: Any] {
        var filter = try query.filter()
        filter.limit = Self.pageSize + 1
        filter.offset = query.page * Self.pageSize
        let found = try readJournal { try $0.incoming(matching: filter) }
        let rows = Array(found.prefix(Self.pageSize))
        let marks = try accounts.store.handled(rows.map(\.record.bundleID.hex))
        var names = PartnerNames(home: home)
        let shown: [[String: Any]] = rows.map { record, pack in
            var row: [String: Any] = [
                "id": record.bundleID.hex, "received": Self.time(record.receivedAt), "sender": record.senderText,
                "senderName": names.name(record.senderText),
                "subject": pack.map { $0.context.subject.isEmpty ? "(no subject)" : $0.context.subject }
                    ?? (record.state == .held ? "(held unopened)" : "(refused bundle)"),
                "workflow": pack?.context.workflow.value ?? "", "nhs": Self.numbers(pack),
                "files": "\(record.publishedFiles.count)",
                "handled": marks[record.bundleID.hex].map { "\($0.user), \(Self.time($0.at))" } ?? "",
            ]
            if let reason = record.reason, record.state != .published {
                row["reason"] = reason
                row["outcome"] = record.state == .held ? "held" : "refused"
            }
            return row
        }
        let first = query.page * Self.pageSize
        let summary =
            rows.isEmpty
            ? (query.isFiltered ? "Nothing received matches." : "Nothing received yet.")
            : "Showing \(first + 1) to \(first + rows.count)\(found.count > Self.pageSize ? " (more below)" : "")."
        var values: [String: Any] = [
            "csrf": viewer.session.csrf, "rows": shown, "hasRows": !shown.isEmpty,
            "q": query.echo, "summary": summary,
        ]
        if found.count > Self.pageSize {
            values["more"] = true
            values["next"] = "\(query.page + 1)"
        }
        return values
    }

    /// The journal (SQLite or PostgreSQL, as the home's `[journal]` says), opened for reading
    /// once it exists and kept open: a WAL reader sees every commit at its next read, and opening
    /// it for each page would cost more than the page.
    func journal() throws -> (any Journal)? {
        if let open = openJournal.withLock({ $0 }) { return open }
        guard let opened = try JournalOpener.openForReading(home: home) else { return nil }
        openJournal.withLock { $0 = opened }
        return opened
    }

    /// Runs `body` on the gateway's journal, read-only; an empty answer before the gateway first ran.
    func readJournal<T>(_ body: (any Journal) throws -> [T]) throws -> [T] {
        do {
            guard let journal = try journal() else { return [] }
            return try body(journal)
        } catch { throw WebError.storage("reading the journal: \(error)") }
    }

    static func numbers(_ pack: JournalPack?) -> String {
        (pack?.context.nhsNumbers ?? []).map(NHSNumber.spaced).joined(separator: ", ")
    }

    /// `2026-12-05 06:12 UTC`.
    static func time(_ ms: Int64) -> String {
        guard let text = RFC3339.format(milliseconds: ms) else { return "?" }
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 16 else { return text }
        return String(String.UnicodeScalarView(scalars[0..<10])) + " "
            + String(String.UnicodeScalarView(scalars[11..<16]))
            + " UTC"
    }
}

/// Sender names from the pinned cards, read once per page.
struct PartnerNames {
    let store: PartnerStore
    var cache: [String: String] = [:]
    init(home: GatehouseHome) { store = PartnerStore(home: home) }

    mutating func name(_ org: String) -> String {
        if let known = cache[org] { return known }
        let name = (try? ODSCode(org)).flatMap { try? store.resolvedCard(for: $0)?.name } ?? "Unknown sender"
        cache[org] = name
        return name
    }
}
