import HTTPTypes
import Hummingbird

/// Headers on every response: a strict Content-Security-Policy (no script at all, no inline
/// style, nothing from elsewhere, no framing), no MIME sniffing, no referrer, no caching of
/// anything (pages show patient data), and HSTS when TLS is terminated in front.
struct SecurityHeaders<Context: RequestContext>: RouterMiddleware {
    let tls: Bool

    static var policy: String {
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            + "base-uri 'none'"
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response: Response
        do { response = try await next(request, context) } catch let error as HTTPResponseError {
            // Errors thrown by the router (404, 405, 413) get the same headers as pages.
            response = try error.response(from: request, context: context)
        }
        Self.apply(to: &response.headers, tls: tls)
        return response
    }

    static func apply(to headers: inout HTTPFields, tls: Bool) {
        // A page that sets its own (stricter or framed) policy keeps it: only the preview does.
        if headers[.contentSecurityPolicy] == nil { headers[.contentSecurityPolicy] = policy }
        let frameOptions = HTTPField.Name("X-Frame-Options")!
        if headers[frameOptions] == nil { headers[frameOptions] = "DENY" }
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        headers[HTTPField.Name("Permissions-Policy")!] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
        if tls { headers[.strictTransportSecurity] = "max-age=31536000" }
    }
}
