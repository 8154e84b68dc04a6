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

    /// The parts for `fields`, in order.
    static func fieldParts(_ fields: [(String, String)]) -> [UInt8] {
        fields.flatMap { name, value in
            Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
    }

    /// The start of a file part named `name` (its bytes follow).
    static func fileHead(_ name: String) -> [UInt8] {
        Array(
            ("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\(name)\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n").utf8)
    }

    /// A multipart body: fields in order, then files.
    static func multipart(_ fields: [(String, String)], files: [(String, [UInt8])]) -> [UInt8] {
        fieldParts(fields) + files.flatMap { name, bytes in fileHead(name) + bytes + Array("\r\n".utf8) }
            + Array("--\(boundary)--\r\n".utf8)
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
        // The one page with a script (upload progress): from this origin only, never inline.
        #expect(form.header("content-security-policy") == SendScript.policy)
        #expect(form.text.contains("<script src=\"/static/send.js\" defer></script>"))
        let script = try await sender.get("/static/send.js")
        #expect(script.header("content-type") == "text/javascript; charset=utf-8")
        #expect(script.header("x-content-type-options") == "nosniff")
        #expect(try await sender.get("/outgoing").header("content-security-policy")?.contains("script-src") == false)
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
        // A body cut short after a whole file: no closing delimiter, no pack.
        let whole = Self.multipart(fields, files: [("a.txt", [1, 2, 3])])
        let cut = try await sender.send(
            "POST", "/send", headers: [("Content-Type", "multipart/form-data; boundary=\(Self.boundary)")],
            body: Array(whole.dropLast(Self.boundary.utf8.count + 6)))
        #expect(cut.status == 400)
        #expect(outbox(web).isEmpty)
        // A clinician cannot send at all.
        var nurse = try await web.signIn("anna.nurse")
        let token2 = try #require(try await nurse.get("/inbox").csrf)
        #expect(try await upload(&nurse, [("csrf", token2), ("to", "A81001")], files: [("a.txt", [1])]).status == 403)
        #expect(outbox(web).isEmpty)
        await web.stop()
    }

    /// The peak resident memory of this process, in bytes (VmHWM), after resetting it to now.
    static func peakMemory(reset: Bool) -> Int {
        if reset { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// The Send page's multipart head and tail around one file's bytes, for streamed posts.
    static func streamedForm(_ csrf: String) -> (prefix: [UInt8], suffix: [UInt8], type: String) {
        let prefix =
            fieldParts([("csrf", csrf), ("to", "A81001"), ("subject", ""), ("nhs", ""), ("workflow", "")])
            + fileHead("export.bin")
        return (prefix, Array("\r\n--\(boundary)--\r\n".utf8), "multipart/form-data; boundary=\(boundary)")
    }

    /// 2 GiB (the default `upload_max_mb`) streamed through the server (in this process) into
    /// the outbox: the peak memory grows by far less than the upload, and the file is whole.
    @Test func aTwoGiBUploadStreamsToDiskWithFlatMemory() async throws {
        let web = try await WebHarness()
        var sender = try await web.signIn("rita.reception")
        let form = Self.streamedForm(try #require(try await sender.get("/send").csrf))
        let before = Self.peakMemory(reset: true)
        // The whole request within the limit: 2 GiB less the form around the file.
        let size = Int(WebSettings().uploadMaxBytes) - form.prefix.count - form.suffix.count
        let answer = try await sender.streamPost("/send", contentType: form.type, prefix: form.prefix, size: size,
                                                 suffix: form.suffix)
        let growth = Self.peakMemory(reset: false) - before
        #expect(answer.status == 200, "\(answer.text)")
        #expect(growth < 96 << 20, "peak memory grew by \(growth >> 20) MiB for a \(size >> 20) MiB upload")
        let pack = try #require(outbox(web).first)
        let stored = SpoolLayout(home: web.home).outbox + "/A81001/\(pack)/export.bin"
        #expect((try FileManager.default.attributesOfItem(atPath: stored)[.size] as? Int) == size)
        try FileManager.default.removeItem(atPath: SpoolLayout(home: web.home).outbox + "/A81001/\(pack)")
        await web.stop()
    }

    /// Past the limit an upload is refused: by its declared length before anything is read, or
    /// while streaming (within the declared slack), the partial file removed.
    @Test func uploadsPastTheLimitAreRefused() async throws {
        var settings = WebSettings()
        settings.uploadMaxBytes = 8 << 20
        let web = try await WebHarness(settings: settings)
        var sender = try await web.signIn("rita.reception")
        let form = Self.streamedForm(try #require(try await sender.get("/send").csrf))
        let over = try await sender.streamPost(
            "/send", contentType: form.type, prefix: form.prefix, size: 9 << 20, suffix: form.suffix)
        #expect(over.status == 413)
        #expect(outbox(web).isEmpty)
        let within = try await sender.streamPost(
            "/send", contentType: form.type, prefix: form.prefix, size: (8 << 20) + 4096, suffix: form.suffix)
        #expect(within.status == 413)
        #expect(outbox(web).isEmpty)
        await web.stop()
    }
}
