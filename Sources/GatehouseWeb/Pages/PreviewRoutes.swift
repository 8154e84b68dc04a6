import HTTPTypes
import Hummingbird

/// Inline previews [clinician, admin]: text-like files shown as plain text (XML and HTML
/// included: never rendered), images as images, inside a sandboxed frame on a page of its own.
/// The framed response carries its own policy (`sandbox`, nothing but same-site images), so
/// nothing in a file can run, whatever a sender put in it. PDF has no preview: Chromium's viewer
/// does not run in a sandboxed frame; it is downloaded.
enum Preview {
    /// The type a file named `name` is previewed as, or nil when it is not previewed.
    static func contentType(_ name: String) -> String? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "txt", "csv", "xml", "json", "log", "hl7", "md", "html", "htm": return "text/plain; charset=utf-8"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        default: return nil
        }
    }

    /// The framed file's policy.
    static let framePolicy =
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        + "frame-ancestors 'self'"
}

extension WebApp {
    /// The page holding the frame.
    func previewPage(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let (record, index, file, _) = try publishedFile(context), Preview.contentType(file.name) != nil else {
            return problem(.notFound, "No preview", "That file has no preview; download it instead.", viewer: viewer)
        }
        var response = page(
            "preview", title: "Preview", ["id": record.bundleID.hex, "index": "\(index)", "name": file.name],
            viewer: viewer)
        response.headers[.contentSecurityPolicy] = SecurityHeaders<WebContext>.policy + "; frame-src 'self'"
        return response
    }

    /// The file itself, for the frame.
    func preview(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let (record, index, file, handle) = try publishedFile(context),
            let type = Preview.contentType(file.name)
        else { return problem(.notFound, "No preview", "That file has no preview.", viewer: viewer) }
        guard
            audit.record(
                "web-preview", viewer: viewer, bundle: record.bundleID.hex, sha256: file.sha256, detail: "file=\(index)")
        else { return auditUnavailable(viewer) }
        let headers: HTTPFields = [
            .contentType: type,
            .contentDisposition: ContentDisposition.attachment(file.name, inline: true),
            .contentSecurityPolicy: Preview.framePolicy,
            HTTPField.Name("X-Frame-Options")!: "SAMEORIGIN",
        ]
        return Response(status: .ok, headers: headers, body: Self.stream(handle, size: file.size))
    }
}
