import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import NIOCore

/// Receives the *Send* form (multipart/form-data) as it streams in: the small fields first
/// (the CSRF token must be the very first part: nothing is written before it checks), then each
/// file written straight into a ``PackDrop`` as its bytes arrive, never held in memory. A byte
/// limit over the whole upload is enforced as it streams. The intake API uses it without CSRF
/// (a bearer token, no cookie), with repeatable fields, and keeps a fingerprint of the content.
final class UploadReceiver {
    /// Why the upload was refused, with the HTTP status to answer.
    struct Refusal: Error {
        let status: Int
        let message: String
        /// The form field at fault, when one is (named in the API's answer).
        var field: String? = nil
    }

    private var reader: MultipartReader
    /// The session's CSRF token, which must be the first part; nil for the API (no cookies).
    private let csrf: String?
    /// Fields that may repeat: their values are joined with commas.
    private let repeatable: Set<String>
    /// SHA-256 over every field (name, value), file name and file byte, length-prefixed.
    let fingerprint = SHA256Hasher()
    private let limit: Int64
    /// Opens the pack once the fields before the first file are known.
    private let open: ([String: String]) throws -> PackDrop

    private(set) var fields: [String: String] = [:]
    private(set) var names: [String] = []
    private(set) var bytes: Int64 = 0
    private(set) var drop: PackDrop?
    private(set) var refusal: Refusal?
    private var headers: [(String, String)] = []
    private var field: (name: String, value: [UInt8])?
    private var file: DurableFile?
    private var parts = 0

    init(
        boundary: String, csrf: String?, limit: Int64, repeatable: Set<String> = [],
        open: @escaping ([String: String]) throws -> PackDrop
    ) {
        reader = MultipartReader(boundary: boundary)
        self.csrf = csrf
        self.repeatable = repeatable
        self.limit = limit
        self.open = open
    }

    /// Feeds the next chunk of the body; throws the refusal once there is one.
    func feed(_ buffer: ByteBuffer) throws {
        do {
            try buffer.withUnsafeReadableBytes { bytes in
                try reader.feed(bytes) { event in
                    switch event {
                    case .headers(let headers):
                        self.headers = headers.map { ($0.name, $0.value) }
                        startPart()
                    case .body(let bytes): body(bytes)
                    case .partEnd: partComplete()
                    }
                }
            }
        } catch {
            fail(400, "The upload is not well-formed multipart data.")
        }
        if let refusal { throw refusal }
    }

    /// True once the closing delimiter was read (an upload cut short never is).
    var isComplete: Bool { reader.isFinished }

    private func fail(_ status: Int, _ message: String) {
        guard refusal == nil else { return }
        refusal = Refusal(status: status, message: message)
        file?.discard()
        file = nil
    }

    private func startPart() {
        guard refusal == nil, file == nil, field == nil else { return }
        parts += 1
        guard parts <= PayloadLayout.maxFiles + 16 else { return fail(400, "Too many parts in the upload.") }
        let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        guard let name = Self.parameter("name", in: disposition) else { return fail(400, "A part has no name.") }
        if csrf != nil && parts == 1 && name != "csrf" {
            return fail(403, "The form has expired. Reload the page and try again.")
        }
        if let fileName = Self.parameter("filename", in: disposition) {
            guard name == "files", csrf == nil || fields["csrf"] != nil else {
                return fail(400, "Unexpected file field.")
            }
            if fileName.isEmpty { return }  // no file chosen in the input
            if let why = PackDrop.refusal(forName: fileName) { return fail(400, "Cannot send \(fileName): \(why)") }
            do { try FileNameRule.checkDistinct(names + [fileName]) } catch {
                return fail(400, "Cannot send these files together: \(error.detail)")
            }
            do {
                if drop == nil { drop = try open(fields) }
                file = try drop!.file(named: fileName)
                names.append(fileName)
                digest("file", Array(fileName.utf8))
            } catch let refusal as Refusal {
                if self.refusal == nil { self.refusal = refusal }
                fail(refusal.status, refusal.message)
            } catch {
                fail(500, "The file could not be stored: \(error)")
            }
        } else {
            // The pack's context is checked when the first file opens it: a field after that (an
            // NHS number, say) would be silently left out of the pack, so the API refuses it.
            if csrf == nil && drop != nil {
                let message = "the field \(name) comes after a file; send fields first"
                refusal = Refusal(status: 400, message: message, field: name)
                return fail(400, "")
            }
            field = (name, [])
        }
    }

    private func body(_ bytes: ArraySlice<UInt8>) {
        guard refusal == nil else { return }
        if var current = field {
            guard current.value.count + bytes.count <= 4096 else { return fail(400, "A form field is too long.") }
            current.value += bytes
            field = current
        } else if let file {
            self.bytes += Int64(bytes.count)
            guard self.bytes <= limit else { return fail(413, "The files add up to more than \(limit >> 20) MiB.") }
            do {
                try bytes.withUnsafeBytes {
                    try file.writeAll($0)
                    fingerprint.update($0)
                }
            } catch { fail(500, "The file could not be written: \(error)") }
        }
    }

    private func partComplete() {
        defer {
            headers = []
            field = nil
            file = nil
        }
        guard refusal == nil else { return }
        if let current = field {
            let value = String(decoding: current.value, as: UTF8.self)
            if current.name == "csrf" && !constantTimeEqualStrings(value, csrf ?? "") {
                return fail(403, "The form has expired. Reload the page and try again.")
            }
            digest(current.name, current.value)
            if repeatable.contains(current.name), let earlier = fields[current.name] {
                fields[current.name] = earlier + "," + value
            } else {
                fields[current.name] = value
            }
        } else if let file {
            do { try file.commit(sync: .file) } catch { fail(500, "The file could not be synced: \(error)") }
        }
    }

    private func digest(_ name: String, _ value: [UInt8]) {
        for part in [Array(name.utf8), value] {
            var count = UInt64(part.count).bigEndian
            withUnsafeBytes(of: &count) { fingerprint.update($0) }
            fingerprint.update(part)
        }
    }

    /// `name="value"` from a Content-Disposition header (quotes required, as browsers send them;
    /// a browser percent-encodes a quote or line break in a file name).
    static func parameter(_ key: String, in header: String) -> String? {
        let scalars = Array(header.unicodeScalars)
        let needle = Array("\(key)=\"".unicodeScalars)
        var i = 0
        while i + needle.count <= scalars.count {
            let before = i == 0 ? " " : scalars[i - 1]
            if (before == " " || before == ";") && Array(scalars[i..<i + needle.count]) == needle {
                let start = i + needle.count
                guard let end = scalars[start...].firstIndex(of: "\"") else { return nil }
                return String(String.UnicodeScalarView(scalars[start..<end]))
            }
            i += 1
        }
        return nil
    }
}
