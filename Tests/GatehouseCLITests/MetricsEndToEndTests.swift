import Foundation
import Glibc
import GatehouseTesting
import Testing

@Suite("gatehouse run --metrics: Prometheus metrics and /healthz", .serialized)
struct MetricsEndToEndTests {
    /// Starts both daemons of `pair` with metrics on free ports; returns (practice, prison) ports.
    func startWithMetrics(_ pair: DaemonPair) throws -> (practice: Int, prison: Int) {
        let ports = (try SSHServer.freePort(), try SSHServer.freePort())
        pair.daemons[pair.practice] = try DaemonProcess(home: pair.practice, arguments: ["--metrics", "127.0.0.1:\(ports.0)"])
        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison, arguments: ["--metrics", "127.0.0.1:\(ports.1)"])
        #expect(eventually(timeout: 10) { HTTPProbe.get(port: ports.0, "/healthz")?.status == 200 && HTTPProbe.get(port: ports.1, "/healthz")?.status == 200 },
                "\(pair.daemons[pair.practice]!.logText)")
        return ports
    }

    @Test func countersMatchWhatHappened() throws {
        let pair = try DaemonPair()
        let ports = try startWithMetrics(pair)
        let records = 5
        for index in 0..<records { try pair.drop("record-\(index).xml", Array("<record n=\"\(index)\"/>".utf8), from: pair.practice, to: "YOI123") }
        #expect(eventually { pair.states(pair.practice) == Array(repeating: "acknowledged", count: records) }, "\(pair.status(pair.practice))")
        // Records waiting together share a bundle: the metrics count bundles, as the journal does.
        let bundles = pair.status(pair.practice).count
        let sent = try #require(HTTPProbe.get(port: ports.practice, "/metrics"))
        #expect(sent.status == 200)
        let text = sent.body
        #expect(HTTPProbe.sample(text, #"gatehouse_journal_bundles{state="acknowledged"}"#) == Double(bundles), "\(text)")
        #expect(HTTPProbe.sample(text, #"gatehouse_bundles_finished_total{partner="YOI123",state="acknowledged"}"#) == Double(bundles))
        #expect(HTTPProbe.sample(text, #"gatehouse_delivery_latency_seconds_count{partner="YOI123"}"#) == Double(bundles))
        #expect((HTTPProbe.sample(text, #"gatehouse_delivery_latency_seconds_sum{partner="YOI123"}"#) ?? 0) > 0)
        for state in ["queued", "sealed", "delivered"] {
            #expect(HTTPProbe.sample(text, #"gatehouse_bundles{partner="YOI123",state="\#(state)"}"#) == 0)
        }
        #expect(HTTPProbe.sample(text, "gatehouse_queue_depth") == 0)
        #expect(HTTPProbe.sample(text, #"gatehouse_oldest_unacknowledged_age_seconds{partner="YOI123"}"#) == 0)
        #expect(HTTPProbe.sample(text, #"gatehouse_circuit_breaker_open{partner="YOI123"}"#) == 0)
        #expect(HTTPProbe.sample(text, "gatehouse_quarantine_items") == 0)
        #expect(HTTPProbe.sample(text, "gatehouse_healthy") == 1)
        #expect((HTTPProbe.sample(text, #"gatehouse_key_expiry_seconds{key="manifest"}"#) ?? 0) > 300 * 86_400)
        #expect((HTTPProbe.sample(text, #"gatehouse_partner_manifest_expiry_seconds{partner="YOI123"}"#) ?? 0) > 300 * 86_400)
        // Every byte sealed at the practice was opened at the prison.
        let sealed = try #require(HTTPProbe.sample(text, #"gatehouse_sealed_bytes_total{partner="YOI123"}"#))
        #expect(sealed > 0)
        let received = try #require(HTTPProbe.get(port: ports.prison, "/metrics")).body
        #expect(HTTPProbe.sample(received, #"gatehouse_opened_bytes_total{partner="A81001"}"#) == sealed, "\(received)")
        #expect(HTTPProbe.sample(received, #"gatehouse_retries_total{partner="A81001"}"#) == nil)
    }

    @Test func healthFailsWhenTheSpoolIsUnwritable() throws {
        let pair = try DaemonPair()
        let ports = try startWithMetrics(pair)
        // Tests run as root, whom permission bits do not stop: the folder is replaced by a file,
        // which no write gets past, as a read-only mount would.
        let received = pair.practice + "/spool/received"
        #expect(rename(received, received + ".moved") == 0)
        #expect(FileManager.default.createFile(atPath: received, contents: Data("not a folder".utf8)))
        let unhealthy = try #require(HTTPProbe.get(port: ports.practice, "/healthz"))
        #expect(unhealthy.status == 503)
        #expect(unhealthy.body.hasPrefix("unhealthy\n"))
        #expect(unhealthy.body.contains("spool/received is not writable: Not a directory"), "\(unhealthy.body)")
        #expect(HTTPProbe.sample(try #require(HTTPProbe.get(port: ports.practice, "/metrics")).body, "gatehouse_healthy") == 0)
        unlink(received)
        #expect(rename(received + ".moved", received) == 0)
        #expect(HTTPProbe.get(port: ports.practice, "/healthz")?.status == 200)
        // The server is GET-only, strict and bounded.
        #expect(HTTPProbe.exchange(port: ports.practice, request: Array("POST /healthz HTTP/1.1\r\n\r\n".utf8))?.status == 405)
        #expect(HTTPProbe.exchange(port: ports.practice, request: Array("GET /healthz\r\n\r\n".utf8))?.status == 400)
        #expect(HTTPProbe.exchange(port: ports.practice, request: Array("GET /x HTTP/1.1\r\n\r\n".utf8))?.status == 404)
        let huge = Array("GET /metrics HTTP/1.1\r\nX: ".utf8) + [UInt8](repeating: 0x61, count: 20_000)
        #expect(HTTPProbe.exchange(port: ports.practice, request: huge)?.status == 431)
        #expect(HTTPProbe.get(port: ports.practice, "/healthz")?.status == 200)
    }

    /// A relay outage: /healthz was green throughout (only the breaker gauge moved). Now it is
    /// 503 `degraded` with both reasons once the own mailbox has not been listed for
    /// `unreachable_after` and the partner's breaker is open, and green again when the relay returns.
    @Test func aRelayOutageDegradesHealthUntilTheRelayReturns() throws {
        let pair = try DaemonPair(viaRelay: true)
        for home in [pair.practice, pair.prison] {
            let config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
                .replacingOccurrences(of: #"(?m)^unreachable_after = .*$"#, with: #"unreachable_after = "1s""#, options: .regularExpression)
            try config.write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
        }
        try pair.startRelay()
        let ports = try startWithMetrics(pair)
        // The relay machine goes down: sshd and every session with it.
        pair.relayProcess?.crashTree()
        try pair.drop("summary.xml", Array("<summary nhs=\"9990000018\"/>".utf8), from: pair.practice, to: "YOI123")
        var last = ""
        let degraded = eventually {
            guard let health = HTTPProbe.get(port: ports.practice, "/healthz") else { return false }
            last = "\(health.status) \(health.body)"
            // Both reasons: the breaker may open (five quick failed deliveries) before the own
            // mailbox has gone unlisted for `unreachable_after`.
            return health.status == 503 && health.body.contains("partner YOI123: circuit breaker open")
                && health.body.contains("has not been listed for")
        }
        #expect(degraded, "\(last)\n\(pair.daemons[pair.practice]!.logText)")
        #expect(last.hasPrefix("503 degraded\n- the own mailbox (A81001) has not been listed for "), "\(last)")
        #expect(last.contains("longer than [collector] unreachable_after (1 s): nothing is collected; last failure: "), "\(last)")
        #expect(last.contains("refused the connection: is the relay running?"), "\(last)")
        let metrics = try #require(HTTPProbe.get(port: ports.practice, "/metrics")).body
        #expect(HTTPProbe.sample(metrics, "gatehouse_healthy") == 0)
        #expect(HTTPProbe.sample(metrics, #"gatehouse_circuit_breaker_open{partner="YOI123"}"#) == 1)

        try pair.startRelay()
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")
        #expect(eventually { HTTPProbe.get(port: ports.practice, "/healthz")?.status == 200 },
                "\(HTTPProbe.get(port: ports.practice, "/healthz")?.body ?? "")")
        #expect(HTTPProbe.sample(try #require(HTTPProbe.get(port: ports.practice, "/metrics")).body, "gatehouse_healthy") == 1)
    }

    @Test func aBadMetricsAddressIsRefusedAtStart() throws {
        let pair = try DaemonPair()
        for address in ["nonsense", "127.0.0.1", "localhost:9464", "127.0.0.1:99999"] {
            let out = try GatehouseProcess.run(["run", "--home", pair.practice, "--metrics", address])
            #expect(out.status != 0)
            #expect(out.stderr.contains("is not a metrics address"), "\(address): \(out.stderr)")
        }
    }
}
