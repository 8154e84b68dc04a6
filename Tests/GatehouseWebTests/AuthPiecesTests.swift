import Foundation
import GatehouseCrypto
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// A clock tests move by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var ms: Int64
    init(_ ms: Int64 = 1_795_599_000_000) { self.ms = ms }
    var now: Int64 { lock.withLock { ms } }
    func advance(seconds: Int64) { lock.withLock { ms += seconds * 1000 } }
    var clock: WebClock { WebClock { self.now } }
}

/// Cheap Argon2id for tests (the real default is 64 MiB, 2 passes).
let testCost = PassphraseSeal.Cost(operations: 1, memoryKiB: 1024)

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B: every time and algorithm, 8 digits.
    @Test(arguments: [
        (Int64(59), "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ])
    func rfc6238Vectors(time: Int64, sha1: String, sha256: String, sha512: String) {
        let seed20 = Array("12345678901234567890".utf8)
        let seed32 = Array("12345678901234567890123456789012".utf8)
        let seed64 = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)
        for (seed, hash, expected) in [
            (seed20, HMAC.Hash.sha1, sha1), (seed32, .sha256, sha256), (seed64, .sha512, sha512),
        ] {
            let totp = TOTP(secret: seed, digits: 8, hash: hash)
            #expect(totp.code(counter: totp.counter(at: time)) == expected)
        }
    }

    @Test func acceptsOneStepOfDriftAndNoMore() {
        let totp = TOTP(secret: Array("12345678901234567890".utf8))
        let now: Int64 = 1_234_567_890
        let step = totp.counter(at: now)
        #expect(totp.matchingCounter(totp.code(counter: step), at: now) == step)
        #expect(totp.matchingCounter(totp.code(counter: step - 1), at: now) == step - 1)
        #expect(totp.matchingCounter(totp.code(counter: step + 1), at: now) == step + 1)
        #expect(totp.matchingCounter(totp.code(counter: step - 2), at: now) == nil)
        #expect(totp.matchingCounter("12345", at: now) == nil)
        #expect(totp.matchingCounter("abcdef", at: now) == nil)
    }

    @Test func base32RoundTripsAndTheURINamesTheSecret() {
        let secret = Array("12345678901234567890".utf8)
        #expect(Base32.encode(secret) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(Base32.decode("gezd gnbv gy3t qojq gezdgnbvgy3tqojq") == secret)
        #expect(Base32.decode("GEZ1") == nil)
        let uri = TOTP(secret: secret).uri(account: "anna.nurse", issuer: "Gatehouse")
        #expect(
            uri == "otpauth://totp/Gatehouse%3Aanna.nurse?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse"
                + "&algorithm=SHA1&digits=6&period=30")
        #expect(QRCode.svg(uri)?.hasPrefix("<svg") == true)
    }
}

@Suite struct PasswordTests {
    @Test func argon2idVerifiesOnlyTheRightPassword() throws {
        let hash = try PasswordHash.hash(SecretBytes(copying: Array("correct horse".utf8)), cost: testCost)
        #expect(hash.hasPrefix("$argon2id$v=19$m=1024,t=1,"))
        let right = PasswordHash.verify(SecretBytes(copying: Array("correct horse".utf8)), against: hash)
        let wrong = PasswordHash.verify(SecretBytes(copying: Array("correct horsf".utf8)), against: hash)
        #expect(right && !wrong)
    }

    /// An insider who can write the store plants a hash that would make every check allocate
    /// 4 GiB, or a weaker algorithm: neither is ever accepted.
    @Test func refusesPlantedHashesOfOtherShapes() throws {
        let password = SecretBytes(copying: Array("x".utf8))
        let huge = PasswordHash.verify(password, against: "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
        let other = PasswordHash.verify(password, against: "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
        let empty = PasswordHash.verify(password, against: "")
        #expect(!huge && !other && !empty)
    }
}

@Suite struct EscapingTests {
    /// swift-mustache's own escaping misses a quote that a combining mark joins into one Character.
    @Test func quotesWithCombiningMarksAreEscaped() {
        let hostile = "x\"\u{301} autofocus onfocus='alert(1)' <script>"
        let escaped = SafeHTML.escape(hostile)
        #expect(!escaped.unicodeScalars.contains("\""))
        #expect(!escaped.unicodeScalars.contains("'"))
        #expect(!escaped.unicodeScalars.contains("<"))
        let page = PageRenderer().page(
            "problem", title: hostile, values: ["heading": hostile, "message": hostile], chrome: [:])
        #expect(!page.contains("<script>"))
        let scalars = Array(page.unicodeScalars)
        let quoteThenMark = zip(scalars, scalars.dropFirst()).contains { $0 == "\"" && $1 == "\u{301}" }
        #expect(!quoteThenMark)
    }

    /// A file name from a manifest cannot end the header, add one, or leave the quotes.
    @Test func contentDispositionIsSafeForAnyName() {
        let header = ContentDisposition.attachment("a\"b\r\nSet-Cookie: x=1;\u{202E}fdp.exe")
        #expect(header.hasPrefix("attachment; filename=\"a_b__Set-Cookie__x_1____fdp.exe\"; filename*=UTF-8''"))
        #expect(!header.utf8.contains(0x0D) && !header.utf8.contains(0x0A))
        #expect(header.hasSuffix("a%22b%0D%0ASet-Cookie%3A%20x%3D1%3B%E2%80%AEfdp.exe"))
    }

    @Test func formFieldsDecode() {
        let fields = FormFields(Array("csrf=a%2Bb&name=Ada+Test&empty=&bad=%zz".utf8))
        #expect(fields["csrf"] == "a+b")
        #expect(fields["name"] == "Ada Test")
        #expect(fields["empty"] == "")
        #expect(fields["bad"] == "%zz")
        #expect(fields["missing"] == "")
    }

    @Test func uploadPartParameters() {
        let header = "form-data; name=\"files\"; filename=\"report.pdf\""
        #expect(UploadReceiver.parameter("name", in: header) == "files")
        #expect(UploadReceiver.parameter("filename", in: header) == "report.pdf")
        #expect(UploadReceiver.parameter("filename", in: "form-data; name=\"csrf\"") == nil)
    }

    @Test func listenerMustBeLoopbackWithoutTLS() throws {
        #expect(try WebServer.listenAddress("127.0.0.1:8443", servesTLS: false) == ("127.0.0.1", 8443))
        #expect(try WebServer.listenAddress("[::1]:80", servesTLS: false) == ("::1", 80))
        #expect(throws: WebError.self) { try WebServer.listenAddress("0.0.0.0:8443", servesTLS: false) }
        #expect(throws: WebError.self) { try WebServer.listenAddress("10.1.2.3:8443", servesTLS: false) }
        #expect(try WebServer.listenAddress("0.0.0.0:8443", servesTLS: true).port == 8443)
        #expect(throws: WebError.self) { try WebServer.listenAddress("nonsense", servesTLS: false) }
    }
}

@Suite struct MultipartReaderTests {
    /// The same body fed whole and one byte at a time gives the same parts, even with
    /// delimiter-like runs inside a file.
    @Test func partsAreTheSameWhateverTheChunking() throws {
        let boundary = "XyZ"
        let file: [UInt8] = Array("a\r\n--Xy\r\n--XyQ\r".utf8) + [0, 255]
        let body = Array("--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n".utf8)
            + Array("--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n\r\n".utf8) + file
            + Array("\r\n--XyZ--\r\nepilogue".utf8)
        func parse(chunk: Int) throws -> (headers: [String], bodies: [[UInt8]], finished: Bool) {
            var reader = MultipartReader(boundary: boundary)
            var headers: [String] = []
            var bodies: [[UInt8]] = [[]]
            for start in stride(from: 0, to: body.count, by: chunk) {
                try Array(body[start..<min(body.count, start + chunk)]).withUnsafeBytes { bytes in
                    try reader.feed(bytes) { event in
                        switch event {
                        case .headers(let h): headers.append(h.map { "\($0.name)=\($0.value)" }.joined())
                        case .body(let b): bodies[bodies.count - 1] += b
                        case .partEnd: bodies.append([])
                        }
                    }
                }
            }
            return (headers, bodies, reader.isFinished)
        }
        let whole = try parse(chunk: body.count)
        #expect(whole.bodies == [Array("tok".utf8), file, []])
        #expect(whole.headers[1] == "content-disposition=form-data; name=\"files\"; filename=\"a.bin\"")
        #expect(whole.finished)
        for chunk in [1, 2, 3, 7] {
            let split = try parse(chunk: chunk)
            #expect(split.bodies == whole.bodies && split.headers == whole.headers && split.finished, "chunk \(chunk)")
        }
    }

    @Test func malformedHeadersAreRefused() throws {
        var reader = MultipartReader(boundary: "B")
        let bad = Array("--B\r\nno colon here\r\n\r\nx\r\n--B--".utf8)
        #expect(throws: MultipartReader.Malformed.self) {
            try bad.withUnsafeBytes { try reader.feed($0) { _ in } }
        }
        var flood = MultipartReader(boundary: "B")
        let endless = Array("--B\r\n".utf8) + [UInt8](repeating: 0x41, count: MultipartReader.headerLimit + 10)
        #expect(throws: MultipartReader.Malformed.self) {
            try endless.withUnsafeBytes { try flood.feed($0) { _ in } }
        }
    }
}
