import Foundation
import GatehouseFormat
public import GatehouseKit
import GatehouseCrypto
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
public import ServiceLifecycle

/// `gatehouse network witness serve`: the C2SP tlog-witness HTTP API for the network the
/// witness follows (DIRECTORY.md §10.1).
///
/// - `POST /add-checkpoint`: an old size, a consistency proof and a checkpoint; the answer is the
///   witness's cosignature line, or 400, 403, 404, 409 (with the latest size, `text/x.tlog.size`)
///   or 422 as the specification says. The body is read up to
///   ``AddCheckpointRequest/maxLength`` and no further (413 beyond).
/// - `GET /SHA256HEX(origin)/checkpoint`: the latest checkpoint cosigned, with the log's
///   signatures and the witness's (the monitoring URL), or 404.
///
/// Requests are not authenticated: the log's signature on the checkpoint is the only credential,
/// as the specification intends.
public struct WitnessServer: Sendable {
    /// The witness whose key signs and whose home keeps the state.
    public let witness: Witness
    /// `HOST:PORT` listened on.
    public let host: String, port: Int

    /// A server for `witness` on `address` (`HOST:PORT`, a numeric IPv4 or bracketed IPv6 address).
    public init(witness: Witness, address: String) throws(KitError) {
        let bad = KitError.invalidInput(
            "\(address.debugDescription) is not HOST:PORT with a numeric address, e.g. 127.0.0.1:7380")
        guard let colon = address.utf8.lastIndex(of: UInt8(ascii: ":")),
            let port = Int(String(address[address.index(after: colon)...])), (0...65535).contains(port)
        else { throw bad }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x20 }) else { throw bad }
        self.witness = witness
        self.host = host
        self.port = port
    }

    /// The routes.
    func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let witness = self.witness
        router.post("add-checkpoint") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: AddCheckpointRequest.maxLength)
            return Self.answer(try witness.addCheckpoint(Array(buffer: body)))
        }
        router.get(":origin/checkpoint") { _, context -> Response in
            let hash = context.parameters.get("origin") ?? ""
            guard let (body, note) = try witness.latest(),
                hash == SHA256Hasher.hash(Array(body.origin.utf8)).bytes.hexString
            else { return Self.text(.notFound, "this witness has cosigned no checkpoint of that log\n") }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: note.bytes)))
        }
        return router
    }

    /// The HTTP response for `answer`.
    static func answer(_ answer: Witness.Answer) -> Response {
        switch answer {
        case .cosigned(let line, _):
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: AddCheckpointRequest.responseBody([line]))))
        case .conflict(let latest):
            // tlog-witness: the latest size in decimal and LF, as text/x.tlog.size.
            return Response(
                status: .conflict, headers: [.contentType: "text/x.tlog.size"],
                body: .init(byteBuffer: ByteBuffer(string: "\(latest)\n")))
        default:
            return text(HTTPResponse.Status(code: answer.status), answer.reason + "\n")
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// The server as a service; `onRunning` gets the bound port (useful with port 0).
    public func service(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some Service {
        var logger = Logger(label: "gatehouse-witness")
        logger.logLevel = .warning
        let port = self.port
        return Application(
            router: router(),
            // A client that stops sending (a slow-loris) is dropped after 30 s of silence.
            server: .http1(configuration: .init(idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Runs until the task is cancelled, or SIGTERM or SIGINT.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service(onRunning: onRunning))], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "gatehouse-witness")))
        try await group.run()
    }
}
