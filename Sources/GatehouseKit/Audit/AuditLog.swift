import Foundation
import Glibc
public import GatehouseCrypto
public import GatehouseFormat

/// One security-relevant event. Only organisation codes, bundle ids, digests and short
/// machine-readable details: never a file name, a person's name or an NHS number.
public struct AuditEvent: Sendable {
    public var event: String
    public var org: String?
    public var bundle: String?
    public var sha256: String?
    public var detail: String?

    public init(_ event: String, org: String? = nil, bundle: String? = nil, sha256: String? = nil, detail: String? = nil) {
        self.event = event
        self.org = org
        self.bundle = bundle
        self.sha256 = sha256
        // 200 Unicode scalars, not Characters: one Character can hold any number of combining marks.
        self.detail = detail.map { String(String.UnicodeScalarView($0.unicodeScalars.prefix(200))) }
    }

    /// An event about a bundle of (or for) organisation `org`.
    public init(_ event: String, org: ODSCode?, bundle: BundleID? = nil, sha256: String? = nil, detail: String? = nil) {
        self.init(event, org: org?.value, bundle: bundle?.hex, sha256: sha256, detail: detail)
    }
}

/// A line of the audit log.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var seq: Int
    public var time: String
    public var event: String
    public var org: String?
    public var bundle: String?
    public var sha256: String?
    public var detail: String?
    /// SHA-256 (hex) of the previous line's bytes; 64 zeros for the first line.
    public var prev: String
    /// For checkpoints: the signing key's id and its signature.
    public var keyID: String?
    public var signature: String?

    enum CodingKeys: String, CodingKey {
        case seq, time, event, org, bundle, sha256, detail, prev
        case keyID = "key_id", signature
    }

    /// What a checkpoint signs: its position and the hash of everything before it.
    var checkpointDigest: SHA256Digest {
        SHA256Hasher.hash(Array("gatehouse-audit-checkpoint\nseq: \(seq)\ntime: \(time)\nprev: \(prev)\n".utf8))
    }
}

/// The append-only audit log, `HOME/audit/audit.jsonl`: one JSON object a line, each naming the
/// SHA-256 of the line before it, with a checkpoint signed by the organisation's signing key
/// every ``checkpointInterval`` entries. The latest checkpoint is also kept in
/// `HOME/audit/checkpoint`, so cutting the log short is detected too.
///
/// Writers (the daemon and commands) take an exclusive `flock` on the log for each append.
public struct AuditLog: Sendable {
    /// Entries between signed checkpoints.
    public static let checkpointInterval = 100
    static let genesis = String(repeating: "0", count: 64)

    public let folder: String
    public var path: String { folder + "/audit.jsonl" }
    public var anchorPath: String { folder + "/checkpoint" }

    public init(home: GatehouseHome) { folder = home.path + "/audit" }

    /// Appends `event`; when `signer` is given and the interval is reached, a checkpoint follows.
    ///
    /// The line is written at once (a process killed after this keeps it). With `sync` it is
    /// also on disk when this returns; without, the caller syncs later (``sync()``, as the
    /// daemon's ``AuditSyncer`` does) and a power cut in between can lose it. A checkpoint is
    /// always synced, with every line before it, before the anchor file names it: the anchor
    /// never gets ahead of the log.
    public func append(_ event: AuditEvent, signer: (() throws(KitError) -> SigningSecretKey)? = nil, now: Date = Date(),
                       sync: Bool = true) throws(KitError) {
        try append([event], signer: signer, now: now, sync: sync)
    }

    /// Appends `events` in order under one lock, with checkpoints where the interval falls; with
    /// `sync`, syncs once and every one is durable when this returns (a group commit, so a busy
    /// web server pays one `fsync` for many page views instead of one each).
    public func append(_ events: [AuditEvent], signer: (() throws(KitError) -> SigningSecretKey)? = nil,
                       now: Date = Date(), sync: Bool = true) throws(KitError) {
        guard !events.isEmpty else { return }
        try locked { (fd) throws(KitError) in
            var (seq, prev) = try Self.tail(fd, path: path)
            for event in events {
                let entry = AuditEntry(seq: seq + 1, time: Self.time(now), event: event.event, org: event.org,
                                       bundle: event.bundle, sha256: event.sha256, detail: event.detail, prev: prev)
                let line = try write(entry, to: fd, sync: false)
                seq += 1
                prev = SHA256Hasher.hash(line).hex
                if let signer, seq % Self.checkpointInterval == 0 {
                    let key = try signer()
                    prev = try writeCheckpoint(after: line, seq: seq + 1, key: key, fd: fd, now: now)
                    seq += 1
                }
            }
            guard sync else { return }
            guard fsync(fd) == 0 else {
                throw .io("syncing the audit log \(path): \(String(cString: strerror(errno)))", path: path)
            }
            SyncRecorder.note(path)
        }
    }

    /// Appends a signed checkpoint now.
    public func checkpoint(with key: borrowing SigningSecretKey, now: Date = Date()) throws(KitError) {
        try locked { (fd) throws(KitError) in
            let (seq, prev) = try Self.tail(fd, path: path)
            try writeCheckpoint(prevHash: prev, seq: seq + 1, key: key, fd: fd, now: now)
        }
    }

    /// Writes a checkpoint after `line`; the hash of the checkpoint's own line.
    private func writeCheckpoint(after line: [UInt8], seq: Int, key: borrowing SigningSecretKey, fd: Int32,
                                 now: Date) throws(KitError) -> String {
        try writeCheckpoint(prevHash: SHA256Hasher.hash(line).hex, seq: seq, key: key, fd: fd, now: now)
    }

    @discardableResult
    private func writeCheckpoint(prevHash: String, seq: Int, key: borrowing SigningSecretKey, fd: Int32,
                                 now: Date) throws(KitError) -> String {
        var entry = AuditEntry(seq: seq, time: Self.time(now), event: "checkpoint", prev: prevHash)
        entry.keyID = KeyID(signing: key.publicKey).hex
        entry.signature = Base64.encode(SignatureContext.auditCheckpoint.sign(entry.checkpointDigest, with: key))
        // Synced before the anchor names it: the anchor never points past the log on disk.
        let line = try write(entry, to: fd)
        try FileOperations.replaceAtomically(at: anchorPath, contents: line + [0x0A], mode: 0o600)
        return SHA256Hasher.hash(line).hex
    }

    private func write(_ entry: AuditEntry, to fd: Int32, sync: Bool = true) throws(KitError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let line: [UInt8]
        do { line = Array(try encoder.encode(entry)) } catch { throw .io("encoding an audit entry: \(error)", path: path) }
        guard ChildProcess.writeAll(fd, line + [0x0A]), !sync || fsync(fd) == 0 else {
            throw .io("writing the audit log \(path): \(String(cString: strerror(errno)))", path: path)
        }
        if sync { SyncRecorder.note(path) }
        return line
    }

    /// Makes every line written so far durable (lines appended with `sync: false`).
    public func sync() throws(KitError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw .io("opening the audit log \(path): \(String(cString: strerror(errno)))", path: path)
        }
        defer { close(fd) }
        // fdatasync: the lines and the size that makes them readable; nothing else matters here.
        guard fdatasync(fd) == 0 else {
            throw .io("syncing the audit log \(path): \(String(cString: strerror(errno)))", path: path)
        }
        SyncRecorder.note(path)
    }

    private func locked<T>(_ body: (Int32) throws(KitError) -> T) throws(KitError) -> T {
        try FileOperations.makeDirectory(folder, mode: 0o700)
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw .io("opening the audit log \(path): \(String(cString: strerror(errno)))", path: path) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw .io("locking the audit log \(path)", path: path) }
        return try body(fd)
    }

    /// The last line's sequence number and hash (0 and the genesis hash for an empty log).
    static func tail(_ fd: Int32, path: String) throws(KitError) -> (Int, String) {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return (0, genesis) }
        // An entry is well under 1 KiB (detail is capped), so the last 4 KiB hold the last line.
        let window = min(Int(size), 4 * 1024)
        var buffer = [UInt8](repeating: 0, count: window)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, window, off_t(Int(size) - window)) }
        guard n == window, buffer.last == 0x0A else {
            throw .io("the audit log \(path) does not end with a complete line; run `gatehouse audit verify`", path: path)
        }
        let body = buffer.dropLast()
        guard let newline = body.lastIndex(of: 0x0A) ?? (window == Int(size) ? body.startIndex - 1 : nil) else {
            throw .io("the last line of the audit log \(path) is longer than an audit entry can be; run `gatehouse audit verify`", path: path)
        }
        let start = newline + 1
        let line = Array(body[start...])
        guard let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(line)) else {
            throw .io("the last line of the audit log \(path) is not an audit entry; run `gatehouse audit verify`", path: path)
        }
        return (entry.seq, SHA256Hasher.hash(line).hex)
    }

    static func time(_ date: Date) -> String {
        RFC3339.format(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down))) ?? "9999-12-31T23:59:59.999Z"
    }

    // MARK: Reading and verifying

    /// The entries, in order (unchecked; see ``verify(keys:)``).
    public func entries() throws(KitError) -> [AuditEntry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONDecoder().decode(AuditEntry.self, from: Data($0)) }
    }

    /// What `verify` found.
    public struct Verification: Sendable {
        public var entries = 0
        public var checkpoints = 0
        /// Each problem names its line.
        public var problems: [String] = []
        public var isIntact: Bool { problems.isEmpty }
    }

    /// Checks every line: it parses, its sequence number follows the previous one, it names the
    /// previous line's hash, and checkpoints verify against `keys` (by key id); and the latest
    /// checkpoint recorded in the anchor file is still in the log.
    public func verify(keys: [KeyID: SigningPublicKey]) -> Verification {
        var result = Verification()
        let data = FileManager.default.contents(atPath: path) ?? Data()
        if !data.isEmpty && data.last != 0x0A { result.problems.append("the last line is incomplete (the log was cut or is being written)") }
        var prev = Self.genesis
        var pieces = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { Data($0) }
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        let lines = pieces
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            guard let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(raw)) else {
                result.problems.append("line \(number): not an audit entry")
                prev = SHA256Hasher.hash(Array(raw)).hex
                continue
            }
            result.entries += 1
            if entry.seq != number { result.problems.append("line \(number): sequence number \(entry.seq), expected \(number) (a line was inserted, removed or moved)") }
            if entry.prev != prev { result.problems.append("line \(number): does not follow the line before it (that line was changed, or lines were inserted, removed or moved)") }
            if entry.event == "checkpoint" {
                result.checkpoints += 1
                if let id = entry.keyID.flatMap({ try? KeyID(hex: $0) }), let key = keys[id], let signature = entry.signature.flatMap({ Base64.decode($0) }) {
                    if !SignatureContext.auditCheckpoint.verify(signature, over: entry.checkpointDigest, by: key) {
                        result.problems.append("line \(number): the checkpoint's signature does not verify")
                    }
                } else {
                    result.problems.append("line \(number): the checkpoint is signed by an unknown key \(entry.keyID ?? "?") or has no valid signature")
                }
            }
            prev = SHA256Hasher.hash(Array(raw)).hex
        }
        if let anchor = FileManager.default.contents(atPath: anchorPath), let line = anchor.split(separator: 0x0A).first,
           let entry = try? JSONDecoder().decode(AuditEntry.self, from: Data(line)) {
            if entry.seq < 1 || entry.seq > lines.count || lines[entry.seq - 1] != Data(line) {
                result.problems.append("the log no longer holds its latest checkpoint (line \(entry.seq), \(entry.time)): it was cut short or rewritten")
            }
        }
        return result
    }
}
