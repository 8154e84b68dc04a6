import Foundation
import Glibc
public import GatehouseKit
public import GatehouseSFTP

/// File operations over an ``SFTPConnection``, as a gateway needs them: durable, never-overwrite
/// uploads, listing, download and removal.
public struct SFTPClient: Sendable {
    /// The session.
    public let connection: SFTPConnection
    /// Bytes per WRITE request, from `limits@openssh.com` when the server offers it.
    public let writeLength: Int
    /// Bytes asked for per READ request, from `limits@openssh.com` when the server offers it. A
    /// server may answer a READ with fewer bytes; the rest is asked for again.
    public var readLength: Int
    /// WRITE requests kept in flight at once, `writeLength` bytes each (as many as downloads keep
    /// READs; OpenSSH's own client keeps 64): each is memory held while a bundle is sealed and
    /// uploaded at once, and 16 kept a 1 GiB upload on loopback as fast as 64 did.
    public let pipelineDepth = 16
    /// READ requests kept in flight at once while downloading (1 MiB at 64 KiB each).
    public let readAhead = 16

    /// Connects through `executable arguments…` (for example `ssh -s … sftp`).
    public static func connect(executable: String, arguments: [String], stderr: FileHandle? = nil) async throws -> SFTPClient {
        try await start(SFTPConnection(executable: executable, arguments: arguments, stderr: stderr))
    }

    /// Performs the handshake on a started connection and reads the server's limits.
    public static func start(_ connection: SFTPConnection) async throws -> SFTPClient {
        try await connection.handshake()
        var writeLength = 32 * 1024
        var readLength = 32 * 1024
        if connection.serverExtensions.contains(where: { $0.name == SFTP.Extension.limits }) {
            let reply = try await connection.request { SFTPExtendedRequest.limits.message(id: $0) }
            if case .extendedReply(_, let data) = reply, let limits = try? SFTPLimits.decode(data) {
                if limits.maxWriteLength > 0 { writeLength = Int(min(limits.maxWriteLength, 64 * 1024)) }
                if limits.maxReadLength > 0 { readLength = Int(min(limits.maxReadLength, 64 * 1024)) }
            }
        }
        return SFTPClient(connection: connection, writeLength: writeLength, readLength: readLength)
    }

    /// True when the server offers the extension `name`.
    public func supports(_ name: String) -> Bool { connection.serverExtensions.contains { $0.name == name } }

    func check(_ reply: SFTPMessage, _ path: String) throws {
        guard case .status(_, let code, let message, _) = reply else {
            throw SFTPClientError.protocolError("expected STATUS for \(path), got \(reply)")
        }
        guard code == SFTP.StatusCode.ok.rawValue else { throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: path) }
    }

    func handle(_ reply: SFTPMessage, _ path: String) throws -> [UInt8] {
        switch reply {
        case .handle(_, let handle): return handle
        case .status(_, let code, let message, _): throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: path)
        default: throw SFTPClientError.protocolError("expected HANDLE for \(path), got \(reply)")
        }
    }

    /// Uploads the local file to `directory/name`: written under a unique temporary dot-name,
    /// fsynced and its size checked, then published with `posix-rename@openssh.com`. On any
    /// error the temporary file is removed, so no partial file is ever visible under `name`.
    /// Once the WRITEs are answered, FSYNC, FSTAT and CLOSE go out together (one round trip);
    /// the rename is sent only after all three have succeeded.
    /// `gatehouse sftp-server` never lets the rename replace a file (the same bytes again count
    /// as delivered); OpenSSH's own server replaces it, which for Gatehouse mailboxes is harmless,
    /// since a name always stands for the same bundle bytes.
    @discardableResult
    public func upload(_ local: String, to directory: String, as name: String) async throws -> UInt64 {
        let fd = Glibc.open(local, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SFTPClientError.local("cannot open \(local): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        var info = Glibc.stat()
        guard fstat(fd, &info) == 0 else { throw SFTPClientError.local("cannot stat \(local): \(String(cString: strerror(errno)))") }
        return try await upload(UploadSource(fd: fd, length: UInt64(info.st_size)), to: directory, as: name)
    }

    /// Uploads a file while it is being written (seal while uploading): each range is sent as
    /// soon as `growing` reports it written, and the upload is published exactly as
    /// ``upload(_:to:as:)`` does, but only once the producer has finished the file and released
    /// it (``GrowingFile/release(publish:)``); until then it stays under its temporary name. A
    /// producer that fails or withholds the release leaves nothing: the temporary file is removed.
    @discardableResult
    public func upload(growing: GrowingFile, to directory: String, as name: String) async throws -> UInt64 {
        var seen = growing.progress
        while seen.paths == nil {
            if let failure = seen.failure { throw SFTPClientError.local("nothing to upload: \(failure)") }
            seen = await growing.next(after: seen)
            try Task.checkCancellation()
        }
        let paths = seen.paths!
        // A small bundle may already be complete and renamed to its final name.
        var fd = Glibc.open(paths.temporary, O_RDONLY | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { fd = Glibc.open(paths.final, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw SFTPClientError.local("cannot open \(paths.final): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        return try await upload(UploadSource(fd: fd, growing: growing), to: directory, as: name)
    }

    private func upload(_ source: UploadSource, to directory: String, as name: String) async throws -> UInt64 {
        guard supports(SFTP.Extension.posixRename) else {
            throw SFTPClientError.protocolError("the server lacks posix-rename@openssh.com, needed to publish an upload atomically")
        }
        // A fixed-length name whatever the final one (mailbox names are short today; this keeps it so).
        let temporary = DurableFile.temporaryName(beside: "\(directory)/\(name)")
        let final = "\(directory)/\(name)"
        let file = try handle(await connection.request {
            .open(id: $0, path: temporary, flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: 0o640))
        }, temporary)
        var closed = false
        do {
            let length = try await writeAll(source, handle: file, path: temporary)
            var finish: [(UInt32) -> SFTPMessage] = supports(SFTP.Extension.fsync) ? [{ SFTPExtendedRequest.fsync(handle: file).message(id: $0) }] : []
            finish += [{ .fstat(id: $0, handle: file) }, { .close(id: $0, handle: file) }]
            let replies = try await connection.requests(finish)
            let (synced, attributesReply, closeReply) = (replies.count == 3 ? replies[0] : nil, replies[replies.count - 2], replies[replies.count - 1])
            // Any answer to CLOSE frees the handle on the server (even an error): it is never
            // closed again, since its number may already belong to another transfer's OPEN.
            if case .status = closeReply { closed = true }
            if let synced { try check(synced, temporary) }
            guard let size = try attributes(attributesReply, temporary).size else {
                throw SFTPClientError.protocolError("the server gave no size for \(temporary)")
            }
            guard size == length else {
                throw SFTPClientError.protocolError("\(temporary) has \(size) bytes after upload, \(length) were sent")
            }
            try check(closeReply, temporary)
            // A file still being written is published only when its producer says so: after the
            // trailer, the local sync and the journal (a crash before that reseals, and must
            // never leave a published bundle the journal does not know).
            try await source.awaitRelease()
            try check(await connection.request { SFTPExtendedRequest.posixRename(from: temporary, to: final).message(id: $0) }, final)
            return length
        } catch {
            if !closed { _ = try? await connection.request { .close(id: $0, handle: file) } }
            _ = try? await connection.request { .remove(id: $0, path: temporary) }
            throw error
        }
    }

    func attributes(_ reply: SFTPMessage, _ path: String) throws -> SFTPAttributes {
        switch reply {
        case .attrs(_, let attributes): return attributes
        case .status(_, let code, let message, _): throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: path)
        default: throw SFTPClientError.protocolError("expected ATTRS for \(path), got \(reply)")
        }
    }

    /// Pipelined writes: up to ``pipelineDepth`` requests in flight, sent in the order of their
    /// offsets (a relay marks an upload written out of order, README.md), replies in any order,
    /// each chunk read from the file just before it is sent (memory stays at the window's size). A
    /// growing file's chunks go out as they are written: a full chunk as soon as it is there,
    /// the last, short one once the file is complete. Returns the file's length.
    private func writeAll(_ source: UploadSource, handle: [UInt8], path: String) async throws -> UInt64 {
        let connection = self.connection
        let chunk = UInt64(writeLength)
        let fd = source.fd
        return try await withThrowingTaskGroup(of: UploadEvent.self) { group in
            var offset: UInt64 = 0
            var progress = source.initial
            var watching = false
            var inFlight = 0
            func submit(_ count: Int) throws {
                let at = offset
                let id = connection.makeID()
                // The file's bytes are read straight into the packet.
                let packet = try SFTPMessage.writePacket(id: id, handle: handle, offset: at, count: count) { data in
                    var done = 0
                    while done < count {
                        let n = pread(fd, data.baseAddress! + done, count - done, off_t(at) + off_t(done))
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { throw SFTPClientError.local("reading the file to upload failed at byte \(at + UInt64(done)): it shrank or is unreadable") }
                        done += n
                    }
                }
                // Queued here, in the order of the offsets; only the reply is awaited in a task.
                let reply = connection.sendInOrder(packet: packet, id: id)
                group.addTask { .reply(try await reply.value()) }
                offset += UInt64(count)
                inFlight += 1
            }
            while true {
                if let failure = progress.failure { throw SFTPClientError.local("not uploaded: \(failure)") }
                while inFlight < pipelineDepth, progress.written > offset {
                    let count = min(chunk, progress.written - offset)
                    guard count == chunk || progress.length != nil else { break }
                    try submit(Int(count))
                }
                if let length = progress.length, offset >= length, inFlight == 0 { return length }
                if let growing = source.growing, !watching, progress.length == nil {
                    let seen = progress
                    group.addTask { .grew(await growing.next(after: seen)) }
                    watching = true
                }
                switch try await group.next() {
                case .reply(let reply)?:
                    try check(reply, path)
                    inFlight -= 1
                case .grew(let now)?:
                    try Task.checkCancellation()
                    progress = now
                    watching = false
                case nil:
                    throw SFTPClientError.local("the upload of \(path) stalled: nothing in flight and nothing more to send")
                }
            }
        }
    }

    /// The server's clock, in seconds since 1970: the modification time the server's file system
    /// gives a new, empty file, created under a temporary (dot) name in `directory` and removed.
    public func serverTime(in directory: String) async throws -> UInt32 {
        let probe = "\(directory)/.clock-probe.\(UInt64.random(in: 0...UInt64.max)).part"
        let file = try handle(await connection.request {
            .open(id: $0, path: probe, flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: 0o600))
        }, probe)
        defer { Task { [connection] in _ = try? await connection.request { .remove(id: $0, path: probe) } } }
        let reply = try await connection.request { .fstat(id: $0, handle: file) }
        _ = try? await connection.request { .close(id: $0, handle: file) }
        _ = try? await connection.request { .remove(id: $0, path: probe) }
        switch reply {
        case .attrs(_, let attributes) where attributes.modificationTime != nil: return attributes.modificationTime!
        case .status(_, let code, let message, _): throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: probe)
        default: throw SFTPClientError.protocolError("expected ATTRS with a modification time for \(probe), got \(reply)")
        }
    }

    /// The attributes of `path`.
    public func stat(_ path: String) async throws -> SFTPAttributes {
        try attributes(await connection.request { .stat(id: $0, path: path) }, path)
    }

    /// The names in `directory` (READDIR returns them in pages). READDIRs go two at a time, so
    /// a folder that fits in one page (a mailbox, usually) is read, end included, in one round
    /// trip. The folder handle is closed, and the reply awaited, before this returns: no request
    /// of the listing is still on its way, and the last reply is acknowledged by the next request
    /// (a listing is usually followed by a mailbox-wait; with the CLOSE's reply unacknowledged,
    /// the relay's TCP would hold the wake-up back until its delayed ACK, 10 to 40 ms).
    public func list(_ directory: String) async throws -> [SFTPName] {
        let dir = try handle(await connection.request { .opendir(id: $0, path: directory) }, directory)
        var names: [SFTPName] = []
        do {
            try await readNames(dir, directory, into: &names)
        } catch {
            _ = try? await connection.request { .close(id: $0, handle: dir) }
            throw error
        }
        try check(await connection.request { .close(id: $0, handle: dir) }, directory)
        return names
    }

    private func readNames(_ dir: [UInt8], _ directory: String, into names: inout [SFTPName]) async throws {
        var ended = false
        while !ended {
            for reply in try await connection.requests([{ .readdir(id: $0, handle: dir) }, { .readdir(id: $0, handle: dir) }]) {
                switch reply {
                case .name(_, let entries): names += entries.filter { $0.filename != "." && $0.filename != ".." }
                case .status(_, let code, _, _) where code == SFTP.StatusCode.eof.rawValue: ended = true
                case .status(_, let code, let message, _): throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: directory)
                default: throw SFTPClientError.protocolError("expected NAME for \(directory), got \(reply)")
                }
            }
        }
    }

    /// Downloads `remote` into the new local file `local` (temporary name, then rename; not
    /// synced: a fetched copy is scratch while the original stays on the server). FSTAT goes
    /// out with the first READ; further READs are pipelined (``readAhead`` in flight) and
    /// written in order; a short answer is followed by a READ for the rest. A server that sends
    /// more than the file's size, an empty DATA reply or an end before the size is refused. The
    /// remote handle is closed however it ends (without waiting for the reply).
    public func download(_ remote: String, to local: String, maxBytes: UInt64 = .max, progress: GrowingFile? = nil) async throws {
        do {
            try await download(remote, to: local, maxBytes: maxBytes, reporting: progress)
        } catch {
            progress?.fail("\(error)")
            throw error
        }
    }

    private func download(_ remote: String, to local: String, maxBytes: UInt64, reporting progress: GrowingFile?) async throws {
        let connection = self.connection
        let file = try handle(await connection.request { .open(id: $0, path: remote, flags: .read, attributes: SFTPAttributes()) }, remote)
        // Not awaited: every fetch is followed by a REMOVE, whose request acknowledges the
        // CLOSE's reply. (A request that ends a session's activity, before a mailbox-wait, must
        // be awaited instead: see list(_:).)
        defer { connection.post { .close(id: $0, handle: file) } }
        let chunk = UInt64(min(max(readLength, 1), Int(UInt32.max)))
        let opening = try await connection.requests([{ .fstat(id: $0, handle: file) }, { .read(id: $0, handle: file, offset: 0, length: UInt32(chunk)) }])
        guard let size = try attributes(opening[0], remote).size else {
            throw SFTPClientError.protocolError("expected ATTRS with a size for \(remote), got \(opening[0])")
        }
        // Before the local file exists: a file beyond the caller's limit costs one READ, no disk.
        guard size <= maxBytes else {
            // The name after the last '/' byte: "/YOI123/\u{301}x" has no Character "/" before x.
            throw MailboxItemTooLarge(name: DurableFile.split(remote).name, size: size, limit: maxBytes)
        }
        let out: DurableFile
        do { out = try DurableFile(path: local, mode: 0o600) } catch { throw SFTPClientError.local("cannot create \(local): \(error)") }
        // Reported as the bytes reach the file (it coalesces writes): a reader never finds less
        // on disk than the progress says.
        if let progress { out.onWritten = { progress.advance(to: $0) } }
        progress?.begin(temporary: out.temporaryPath, final: local)
        do {
            var waiting: [UInt64: [UInt8]] = [:]  // answered out of order, not yet written
            var written: UInt64 = 0
            try await withThrowingTaskGroup(of: (UInt64, UInt64, SFTPMessage).self) { group in
                var requested = min(chunk, size)  // everything below has been asked for
                var inFlight = 0
                func ask(_ offset: UInt64, _ length: UInt64) {
                    group.addTask { (offset, length, try await connection.request { .read(id: $0, handle: file, offset: offset, length: UInt32(length)) }) }
                    inFlight += 1
                }
                var reply: (offset: UInt64, length: UInt64, message: SFTPMessage)? = (0, chunk, opening[1])
                while let (offset, length, message) = reply {
                    let end = min(offset + length, size)  // what this READ should have brought
                    switch message {
                    case .data(_, let bytes):
                        guard !bytes.isEmpty else { throw SFTPClientError.protocolError("an empty DATA reply for \(remote)") }
                        guard offset + UInt64(bytes.count) <= end else { throw SFTPClientError.protocolError("\(remote) sent more than its size of \(size) bytes") }
                        waiting[offset] = bytes
                        let got = offset + UInt64(bytes.count)
                        if got < end { ask(got, end - got) }  // a short answer: ask for the rest
                    case .status(_, let code, _, _) where code == SFTP.StatusCode.eof.rawValue:
                        guard offset >= size else { throw SFTPClientError.protocolError("\(remote) ended after \(offset) of its \(size) bytes") }
                    case .status(_, let code, let message, _): throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: remote)
                    default: throw SFTPClientError.protocolError("expected DATA for \(remote), got \(message)")
                    }
                    while let bytes = waiting.removeValue(forKey: written) {
                        try Self.append(bytes, to: out, local)
                        written += UInt64(bytes.count)
                    }
                    while requested < size && inFlight < readAhead {
                        ask(requested, min(chunk, size - requested))
                        requested += min(chunk, size - requested)
                    }
                    reply = try await group.next().map { (offset: $0.0, length: $0.1, message: $0.2) }
                    if reply != nil { inFlight -= 1 }
                }
            }
            guard written == size else { throw SFTPClientError.protocolError("\(remote) ended after \(written) of its \(size) bytes") }
            do { try out.commit(sync: .none) } catch { throw SFTPClientError.local("saving \(local): \(error)") }
            progress?.finish(length: size)
        } catch {
            out.discard()
            throw error
        }
    }

    private static func append(_ bytes: [UInt8], to file: DurableFile, _ local: String) throws {
        do { try bytes.withUnsafeBytes { try file.write($0) } } catch { throw SFTPClientError.local("writing \(local): \(error)") }
    }

    /// Removes `path`.
    public func remove(_ path: String) async throws {
        try check(await connection.request { .remove(id: $0, path: path) }, path)
    }
}
