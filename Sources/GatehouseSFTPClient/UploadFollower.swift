public import GatehouseKit
import GatehouseSFTP

extension SFTPClient {
    /// Longest wait for growth in one `mailbox-upload-state@gatehouse` request.
    static let followWait: Duration = .seconds(10)
    /// The pause after a state answer that brought no change (the wait was cut short by another
    /// request of this session), doubling up to ``followPauseMax``.
    static let followPause: Duration = .milliseconds(5)
    static let followPauseMax: Duration = .milliseconds(200)

    /// Reads the upload in progress at `remote` (a dot-name in the own mailbox) from offset 0 as it
    /// grows, handing its bytes to `consume` in order, and returns once its sender has published
    /// it and every byte up to the published size was read. READs are pipelined (``readAhead``
    /// in flight) up to the size the relay last reported; at the end of what is there, the relay
    /// is asked for the state, which it answers as soon as the file grows or is published.
    ///
    /// Only the relay's answer for the very file read (device and inode) makes it a bundle:
    /// throws ``SFTPClientError/notFollowed(_:)`` when it is abandoned or replaced, rewritten, or
    /// shrinks below what was read, and ``MailboxItemTooLarge`` before reading past `maxBytes`.
    /// Bytes already consumed are then not the bundle: the caller discards them.
    @discardableResult
    public func follow(
        _ remote: String, maxBytes: UInt64 = .max, consume: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> FollowedUpload {
        guard followsUploads else { throw SFTPClientError.notFollowed(.unsupported(remote)) }
        let connection = self.connection
        let file = try await openUpload(remote)
        // Not awaited, as in download(_:to:maxBytes:): the next request acknowledges its reply.
        defer { connection.post { .close(id: $0, handle: file) } }
        var read: UInt64 = 0
        var state = try await uploadState(file, path: remote)
        var pause = Self.followPause
        while true {
            // A round per growth: an upload that crawls never reaches the pause below, and the
            // caller's cancellation (its idle and time limits) must still end the follow.
            try Task.checkCancellation()
            if state.rewritten { throw SFTPClientError.notFollowed(.rewritten(remote)) }
            let published: String?
            switch state.phase {
            case .abandoned: throw SFTPClientError.notFollowed(.abandoned(remote))
            case .published(let name): published = name
            case .inProgress: published = nil
            }
            guard state.size >= read else {
                throw SFTPClientError.notFollowed(.shrank(remote, read: read, size: state.size))
            }
            // Before a byte past the caller's limit is asked for.
            guard state.size <= maxBytes else {
                throw MailboxItemTooLarge(
                    name: published ?? DurableFile.split(remote).name, size: state.size, limit: maxBytes)
            }
            let before = read
            read = try await readRange(file, remote, from: read, to: state.size, consume: consume)
            if let published {
                // Published files are never written again: what is there now is the bundle.
                guard read == state.size else {
                    throw SFTPClientError.protocolError(
                        "\(remote) ended after \(read) of its published \(state.size) bytes")
                }
                return FollowedUpload(name: published, size: state.size)
            }
            let asked = read
            state = try await uploadState(file, path: remote, whileSize: read, upTo: Self.followWait)
            if read == before, state.phase == .inProgress, state.size == asked, !state.rewritten {
                // Nothing new: the wait was cut short (another request of this session went out)
                // or timed out. A short pause, so that a busy session is not asked in a loop.
                try await Task.sleep(for: pause)
                pause = min(pause * 2, Self.followPauseMax)
            } else {
                pause = Self.followPause
            }
        }
    }

    /// Follows the upload at `remote` as ``follow(_:maxBytes:consume:)`` does, into the new
    /// local file `local` (temporary name, then rename; not synced, as a download). Nothing is
    /// left at `local` when it throws.
    @discardableResult
    public func follow(_ remote: String, to local: String, maxBytes: UInt64 = .max) async throws -> FollowedUpload {
        let out: DurableFile
        do { out = try DurableFile(path: local, mode: 0o600) } catch {
            throw SFTPClientError.local("cannot create \(local): \(error)")
        }
        do {
            let followed = try await follow(remote, maxBytes: maxBytes) { bytes in
                do { try bytes.withUnsafeBytes { try out.write($0) } } catch {
                    throw SFTPClientError.local("writing \(local): \(error)")
                }
            }
            do { try out.commit(sync: .none) } catch { throw SFTPClientError.local("saving \(local): \(error)") }
            return followed
        } catch {
            out.discard()
            throw error
        }
    }

    /// Reads `[start, end)` of the file open on `file`, pipelined, handing the bytes to `consume`
    /// in order; returns the end of what was handed over: `end`, or less where the file ended
    /// sooner (an EOF: nothing at or past it is used, even bytes answered before it).
    private func readRange(
        _ file: [UInt8], _ remote: String, from start: UInt64, to end: UInt64,
        consume: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> UInt64 {
        guard start < end else { return start }
        let connection = self.connection
        let chunk = UInt64(min(max(readLength, 1), Int(UInt32.max)))
        return try await withThrowingTaskGroup(of: (UInt64, UInt64, SFTPMessage).self) { group in
            var waiting: [UInt64: [UInt8]] = [:]  // answered out of order, not yet handed over
            var delivered = start
            var requested = start
            var stop = end  // lowered to the first offset answered with EOF
            var inFlight = 0
            func ask(_ offset: UInt64, _ length: UInt64) {
                group.addTask {
                    (
                        offset, length,
                        try await connection.request {
                            .read(id: $0, handle: file, offset: offset, length: UInt32(length))
                        }
                    )
                }
                inFlight += 1
            }
            while true {
                try Task.checkCancellation()
                while requested < stop && inFlight < readAhead {
                    let length = min(chunk, stop - requested)
                    ask(requested, length)
                    requested += length
                }
                guard let (offset, length, message) = try await group.next() else { break }
                inFlight -= 1
                switch message {
                case .data(_, let bytes):
                    guard !bytes.isEmpty, UInt64(bytes.count) <= length else {
                        throw SFTPClientError.protocolError(
                            "a DATA reply of \(bytes.count) bytes to a READ of \(length) for \(remote)")
                    }
                    waiting[offset] = bytes
                    let got = offset + UInt64(bytes.count)
                    if got < offset + length && got < stop { ask(got, min(offset + length, stop) - got) }  // the rest
                case .status(_, let code, _, _) where code == SFTP.StatusCode.eof.rawValue:
                    stop = min(stop, offset)
                case .status(_, let code, let message, _):
                    throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: remote)
                default: throw SFTPClientError.protocolError("expected DATA for \(remote), got \(message)")
                }
                while delivered < stop, let bytes = waiting.removeValue(forKey: delivered) {
                    let usable = bytes.prefix(Int(min(UInt64(bytes.count), stop - delivered)))
                    try await consume(usable)
                    delivered += UInt64(usable.count)
                }
            }
            return delivered
        }
    }
}
