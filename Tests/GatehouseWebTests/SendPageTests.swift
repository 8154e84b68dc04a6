import Foundation
import GatehouseDaemon
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// The *Send* page: multipart uploads streamed into one pack in the outbox, through the same
/// ``PackDrop`` as `gatehouse send`, and every hostile upload refused with nothing left behind.
@Suite(.serialized) struct SendPageTests {
    static let boundary = "----gatehouse-test-boundary-7d3f"

    /// A multipart body: fields in order, then files.
    static func multipart(_ fields: [(String, String)], files: [(String, [UInt8])]) -> [UInt8] {
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (name, bytes) in files {
            body +=
                Array(
                    ("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(name)\"\r\n"
                        + "Content-Type: application/octet-stream\r\n\r\n").utf8) + bytes + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    func upload(
        _ client: inout WebClient, _ fields: [(String, String)], files: [(String, [UInt8])]
    ) async throws
        -> WebClient.Answer
    {
        try await client.send(
            "POST", "/send", headers: [("Content-Type", "multipart/form-data; boundary=\(Self.boundary)")],
            body: Self.multipart(fields, files: files))
    }

    func outbox(_ web: WebHarness) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: SpoolLayout(home: web.home).outbox + "/A81001")) ?? []
    }

    @Test func sendsOnePackThroughTheOutbox() async throws {
        let web = try await WebHarness()
        var sender = try await web.signIn("rita.reception")
        let form = try await sender.get("/send")
        #expect(form.status == 200 && form.text.contains("value=\"A81001\""))
        // Binary content with boundary-like runs inside, across the parser's chunks.
        let big =
            (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) } + Array("\r\n--\(Self.boundary.dropLast())".utf8)
        let answer = try await upload(
            &sender,
            [
                ("csrf", form.csrf ?? ""), ("to", "A81001"), ("subject", "Release: Ada Testperson"),
                ("nhs", "999 000 0018"), ("workflow", "release-summary"),
            ],
            files: [("summary.xml", Array("<x/>".utf8)), ("scan.pdf", big)])
        #expect(answer.status == 200, "\(answer.text)")
        #expect(answer.text.contains("Queued for A81001"))
        let packs = outbox(web)
        #expect(packs.count == 1 && packs[0].hasPrefix("send-"))
        let folder = SpoolLayout(home: web.home).outbox + "/A81001/" + packs[0]
        #expect(FileManager.default.contents(atPath: folder + "/scan.pdf") == Data(big))
        #expect(FileManager.default.contents(atPath: folder + "/summary.xml") == Data("<x/>".utf8))
        let sidecar = String(
            decoding: FileManager.default.contents(atPath: folder + "/.gatehouse.toml") ?? Data(), as: UTF8.self)
        #expect(sidecar.contains("release-summary") && sidecar.contains("9990000018"))
        #expect(try web.auditEntries().contains { $0.event == "web-send" && $0.detail?.contains("to=A81001") == true })
        await web.stop()
    }

    @Test func hostileUploadsLeaveNothingBehind() async throws {
        var settings = WebSettings()
        settings.uploadMaxBytes = 1 << 20
        let web = try await WebHarness(settings: settings)
        var sender = try await web.signIn("rita.reception")
        let token = try #require(try await sender.get("/send").csrf)
        let fields = [("csrf", token), ("to", "A81001"), ("subject", ""), ("nhs", ""), ("workflow", "")]
        let cases: [(String, [(String, String)], [(String, [UInt8])], Int)] = [
            ("traversal", fields, [("../../keys/evil", [1])], 400),
            ("right-to-left override", fields, [("report\u{202E}fdp.exe", [1])], 400),
            ("hidden", fields, [(".bashrc", [1])], 400),
            ("in progress", fields, [("x.part", [1])], 400),
            ("same name twice", fields, [("a.txt", [1]), ("A.TXT", [2])], 400),
            ("over the limit", fields, [("big.bin", [UInt8](repeating: 7, count: (1 << 20) + 10))], 413),
            ("no token", Array(fields.dropFirst()), [("a.txt", [1])], 403),
            ("wrong token", [("csrf", "forged")] + fields.dropFirst(), [("a.txt", [1])], 403),
            ("not a partner", [("csrf", token), ("to", "ZZZ99")], [("a.txt", [1])], 400),
            ("itself", [("csrf", token), ("to", "XHM01")], [("a.txt", [1])], 400),
            ("bad NHS number", [("csrf", token), ("to", "A81001"), ("nhs", "999 000 0019")], [("a.txt", [1])], 400),
            ("no file", fields, [], 400),
        ]
        for (label, fields, files, status) in cases {
            let answer = try await upload(&sender, fields, files: files)
            #expect(answer.status == status, "\(label): \(answer.status)")
            #expect(outbox(web).isEmpty, "\(label) left \(outbox(web))")
        }
        // A clinician cannot send at all.
        var nurse = try await web.signIn("anna.nurse")
        let token2 = try #require(try await nurse.get("/inbox").csrf)
        #expect(try await upload(&nurse, [("csrf", token2), ("to", "A81001")], files: [("a.txt", [1])]).status == 403)
        #expect(outbox(web).isEmpty)
        await web.stop()
    }
}
