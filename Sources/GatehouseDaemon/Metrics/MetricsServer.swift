import Foundation
import Glibc
public import GatehouseKit
public import Logging
public import ServiceLifecycle
import Synchronization

/// `gatehouse run --metrics HOST:PORT`: a small HTTP/1.1 server answering `GET /metrics`
/// (Prometheus text) and `GET /healthz` (200 `ok`; or 503 `unhealthy` for a local fault, or
/// `degraded` when mail does not flow, each with the reasons).
///
/// Deliberately minimal, because it listens on a network socket of a gateway that holds patient
/// records: GET only, one connection at a time on its own thread, a request head of at most
/// ``maxRequestHead`` bytes read within ``timeoutMilliseconds``, the connection closed after each
/// response. It serves no files and reads no body.
public struct MetricsServer: Service {
    /// Bytes of request line and headers accepted; a scraper sends a few hundred.
    static let maxRequestHead = 8192
    /// Time allowed to read a request, and to write a response.
    static let timeoutMilliseconds: Int32 = 5000

    let socket: ListeningSocket
    /// One exporter for a gateway; one per tenant, sharing a registry, for a service.
    let exporters: [MetricsExporter]
    let logger: Logger

    /// Binds `address` now, so that a bad or busy address stops `gatehouse run` at once.
    public init(address: String, exporter: MetricsExporter, logger: Logger) throws(KitError) {
        try self.init(address: address, exporters: [exporter], logger: logger)
    }

    /// A server for the tenants of a service, whose exporters share one registry (their gauges
    /// carry `org`); `/healthz` is healthy only when every tenant is, and names the tenant of
    /// each reason.
    public init(address: String, exporters: [MetricsExporter], logger: Logger) throws(KitError) {
        socket = try ListeningSocket(address: address)
        self.exporters = exporters
        self.logger = logger
    }

    /// The port listened on.
    public var port: Int { socket.port }

    public func run() async throws {
        let stop = StopSignal()
        logger.info("serving metrics on port \(socket.port)", metadata: ["gatehouse.metrics": "/metrics /healthz"])
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    // A thread of its own: waiting for connections must not hold one of the
                    // few threads that run the engine's tasks.
                    let thread = Thread { [self] in
                        serve(until: stop)
                        done.resume()
                    }
                    thread.name = "gatehouse-metrics"
                    thread.start()
                }
            } onCancel: { stop.raise() }
        } onGracefulShutdown: { stop.raise() }
    }

    private func serve(until stop: StopSignal) {
        defer { close(socket.fd) }
        while !stop.isRaised {
            var listener = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&listener, 1, 200) > 0 else { continue }
            let client = accept(socket.fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            answer(client)
            close(client)
        }
    }

    private func answer(_ client: Int32) {
        var timeout = timeval(tv_sec: Int(Self.timeoutMilliseconds / 1000), tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let response: HTTPResponse
        switch readHead(client) {
        case .failure(let refusal): response = refusal
        case .success(let head): response = respond(to: head)
        }
        let bytes = response.encoded()
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            sent += n
        }
        // Closing with unread request bytes would reset the connection and could destroy the
        // answer before the client reads it (an oversized request): end the writing side, then
        // discard what still arrives, for a bounded time and amount.
        shutdown(client, Int32(SHUT_WR))
        var discard = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<16 {
            var pending = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, 100) > 0, discard.withUnsafeMutableBytes({ recv(client, $0.baseAddress, $0.count, 0) }) > 0 else { return }
        }
    }

    /// The request head, read until its blank line within the size and time limits.
    private func readHead(_ client: Int32) -> Result<[UInt8], HTTPResponse> {
        var head: [UInt8] = []
        let deadline = ContinuousClock.now + .milliseconds(Self.timeoutMilliseconds)
        var chunk = [UInt8](repeating: 0, count: 2048)
        while !HTTPRequestHead.isComplete(head) {
            guard head.count <= Self.maxRequestHead else { return .failure(.text(431, "Request Header Fields Too Large", "request too large\n")) }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .failure(.text(408, "Request Timeout", "request not received in time\n")) }
            var pending = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return .failure(.text(400, "Bad Request", "connection closed before the request ended\n")) }
            head += chunk[..<n]
        }
        return .success(head)
    }

    private func respond(to bytes: [UInt8]) -> HTTPResponse {
        let head: HTTPRequestHead
        do { head = try HTTPRequestHead(bytes) } catch { return .text(400, "Bad Request", "\(error.reason)\n") }
        guard head.method == "GET" else { return .text(405, "Method Not Allowed", "only GET is served\n", extra: ["Allow: GET"]) }
        switch head.path {
        case "/metrics":
            let body = waitFor { [exporters] in
                for exporter in exporters { await exporter.refresh() }
                return exporters[0].registry.emitToBuffer()
            }
            return HTTPResponse(status: 200, reason: "OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        case "/healthz":
            // `unhealthy`: this gateway's own disk or journal; `degraded`: the gateway works but mail
            // does not flow (the relay or a partner). Both are 503: neither state delivers records.
            let named: @Sendable (MetricsExporter, [String]) -> [String] = { [exporters] exporter, reasons in
                exporters.count == 1 ? reasons : reasons.map { "\(exporter.engine.org): \($0)" }
            }
            let problems = exporters.flatMap { named($0, $0.health.problems()) }
            let delivery = waitFor { [exporters] in
                var found: [String] = []
                for exporter in exporters { found += named(exporter, await exporter.engine.deliveryProblems()) }
                return found
            }
            let warnings = exporters.flatMap { named($0, $0.health.warnings()) }.map { "- warning: \($0)\n" }.joined()
            guard problems.isEmpty, delivery.isEmpty else {
                let word = problems.isEmpty ? "degraded" : "unhealthy"
                let reasons = (problems + delivery).map { "- \($0)\n" }.joined()
                return .text(503, "Service Unavailable", "\(word)\n" + reasons + warnings)
            }
            return .text(200, "OK", "ok\n" + warnings)
        default:
            return .text(404, "Not Found", "not found: this server answers /metrics and /healthz\n")
        }
    }

    /// Runs `work` on the concurrency pool and waits for it on this (the server's own) thread.
    private func waitFor<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) -> Value {
        let result = Mutex<Value?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            let value = await work()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}

/// Tells the server's thread to stop.
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    func raise() { flag.store(true, ordering: .releasing) }
    var isRaised: Bool { flag.load(ordering: .acquiring) }
}
