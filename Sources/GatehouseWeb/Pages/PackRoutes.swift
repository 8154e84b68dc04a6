import GatehouseFormat
import GatehouseJournal
import Glibc
import HTTPTypes
import Hummingbird

/// The *Pack* page [clinician, admin]: one received bundle's manifest, its files with sizes and
/// SHA-256, downloads, and the *handled* mark. Files are addressed by their position in the
/// journalled manifest, never by a name from the URL, so no path can be smuggled in.
extension WebApp {
    func addPackRoutes(_ router: Router<WebContext>) {
        router.get("/pack/:id") { request, context in
            try await self.guarded(request, context, \.readsInbox) { try await self.pack(request, context, $0) }
        }
        router.get("/pack/:id/file/:index") { request, context in
            try await self.guarded(request, context, \.readsInbox) { try await self.download(request, context, $0) }
        }
        router.get("/pack/:id/view/:index") { request, context in
            try await self.guarded(request, context, \.readsInbox) { try await self.previewPage(request, context, $0) }
        }
        router.get("/pack/:id/preview/:index") { request, context in
            try await self.guarded(request, context, \.readsInbox) { try await self.preview(request, context, $0) }
        }
        router.post("/pack/:id/handled") { request, context in
            try await self.guarded(request, context, \.readsInbox) { try await self.markHandled(request, context, $0) }
        }
    }

    /// The incoming record named by the route's `id` (32 lower-case hex digits), or nil.
    func incomingRecord(_ context: WebContext) throws -> (IncomingRecord, JournalPack?)? {
        guard let id = context.parameters.get("id").flatMap({ try? BundleID(hex: $0) }) else { return nil }
        let found: [(IncomingRecord, JournalPack?)] = try readJournal { journal in
            guard let record = try journal.incoming(id) else { return [] }
            return [(record, try journal.pack(of: id, direction: "in"))]
        }
        return found.first
    }

    func pack(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let (record, pack) = try incomingRecord(context) else {
            return problem(.notFound, "No such pack", "Nothing was received with that bundle id.", viewer: viewer)
        }
        let files = record.publishedFiles.enumerated().map { index, file -> [String: Any] in
            [
                "id": record.bundleID.hex, "index": "\(index)", "name": file.name, "size": "\(file.size)",
                "sha256": file.sha256, "previewable": Preview.contentType(file.name) != nil,
            ]
        }
        var names = PartnerNames(home: home)
        var values: [String: Any] = [
            "csrf": viewer.session.csrf, "id": record.bundleID.hex, "sender": record.senderText,
            "senderName": names.name(record.senderText), "received": Self.time(record.receivedAt),
            "subject": pack.map { $0.context.subject.isEmpty ? "(no subject)" : $0.context.subject }
                ?? (record.state == .held ? "Held bundle" : "Refused bundle"),
            "workflow": pack?.context.workflow.value ?? "", "nhs": Self.numbers(pack), "files": files,
            "hasFiles": !files.isEmpty, "bundleSHA256": record.bundleSHA256, "receiptSize": "\(record.receipt.count)",
        ]
        if let reason = record.reason, record.state != .published {
            values["reason"] = reason
            // Held: kept unopened until the sender's card is added here (README, "Held bundles").
            values["outcomeTitle"] = record.state == .held
                ? "This bundle is held unopened: its sender's card has not been added here"
                : "This bundle was refused"
        }
        if let mark = try accounts.store.handled([record.bundleID.hex])[record.bundleID.hex] {
            var shown: [String: Any] = ["user": mark.user, "at": Self.time(mark.at)]
            if !mark.note.isEmpty { shown["note"] = mark.note }
            values["handled"] = shown
        }
        guard audit.record("web-view", viewer: viewer, bundle: record.bundleID.hex, detail: "page=pack") else {
            return auditUnavailable(viewer)
        }
        return page("pack", title: "Received pack", values, viewer: viewer)
    }

    /// A published file named by the route's `id` and `index`, opened (no link followed) and
    /// checked against the manifest's size; nil for anything else.
    func publishedFile(
        _ context: WebContext
    ) throws -> (
        record: IncomingRecord, index: Int, file: PublishedFile,
        handle: OpenFile
    )? {
        guard let (record, _) = try incomingRecord(context), record.state == .published,
            let folder = record.publishedPath, let indexText = context.parameters.get("index"),
            indexText.utf8.count <= 5, let index = Int(indexText)
        else { return nil }
        let files = record.publishedFiles
        guard files.indices.contains(index) else { return nil }
        let file = files[index]
        // The name came from a verified manifest and was checked before publication; checked
        // again here, and the file opened without following a link.
        guard (try? FileNameRule.validate(file.name)) != nil else { return nil }
        let fd = open("\(folder)/\(file.name)", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        let handle = OpenFile(fd)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, Int64(info.st_size) == file.size else {
            return nil
        }
        return (record, index, file, handle)
    }

    func download(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let (record, index, file, handle) = try publishedFile(context) else {
            return problem(.notFound, "No such file", "That file is not part of a published pack.", viewer: viewer)
        }
        guard
            audit.record(
                "web-download", viewer: viewer, bundle: record.bundleID.hex, sha256: file.sha256, detail: "file=\(index)")
        else { return auditUnavailable(viewer) }
        let headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: ContentDisposition.attachment(file.name),
        ]
        return Response(status: .ok, headers: headers, body: Self.stream(handle, size: file.size))
    }

    /// The file's bytes, 256 KiB at a time.
    static func stream(_ handle: OpenFile, size: Int64) -> ResponseBody {
        .init(contentLength: Int(size)) { writer in
            var offset: off_t = 0
            var buffer = [UInt8](repeating: 0, count: 256 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(handle.fd, $0.baseAddress, $0.count, offset) }
                if n < 0 { throw WebError.storage("reading a published file failed") }
                if n == 0 { break }
                try await writer.write(ByteBuffer(bytes: buffer[0..<n]))
                offset += off_t(n)
            }
            try await writer.finish(nil)
        }
    }

    func markHandled(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let fields = try await form(request, session: viewer.session) else { return refusedForm(viewer: viewer) }
        guard let (record, _) = try incomingRecord(context), record.state == .published else {
            return problem(.notFound, "No such pack", "Nothing was published with that bundle id.", viewer: viewer)
        }
        let note = String(fields["note"].trimmed.unicodeScalars.prefix(500))
        try accounts.store.markHandled(
            HandledMark(
                bundleID: record.bundleID.hex, user: viewer.name,
                at: accounts.clock.now(), note: note))
        audit.record("web-handled", viewer: viewer, bundle: record.bundleID.hex, detail: "note=\(!note.isEmpty)")
        return redirect("/pack/\(record.bundleID.hex)")
    }
}

/// A descriptor closed when the last reference goes (the download's body may never run).
final class OpenFile: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
