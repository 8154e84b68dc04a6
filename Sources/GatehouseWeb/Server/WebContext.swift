import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage and the peer's address (for the audit).
struct WebContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The client's IP address as this server saw it (the proxy's, behind a reverse proxy).
    let remoteAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Forms are small; uploads are streamed, never decoded whole.
    var maxUploadSize: Int { 64 * 1024 }
}
