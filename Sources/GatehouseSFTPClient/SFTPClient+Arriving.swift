public import GatehouseSFTP

/// The mailbox owner's view of uploads arriving in its mailbox on `gatehouse sftp-server`
/// (README.md, "Reading an upload in progress"): learn of them, read them as they grow, and
/// learn whether the file read is the bundle its sender published.
extension SFTPClient {
    /// True when the server tells of uploads in progress: `mailbox-uploads@gatehouse`,
    /// `mailbox-upload-state@gatehouse`, and a `mailbox-wait@gatehouse` that takes flags
    /// (version 2 or later).
    public var followsUploads: Bool {
        supports(SFTP.Extension.mailboxUploads) && supports(SFTP.Extension.uploadState)
            && connection.serverExtensions.contains {
                $0.name == SFTP.Extension.mailboxWait && (Int(String(decoding: $0.data, as: UTF8.self)) ?? 0) >= 2
            }
    }

    /// Waits on `mailbox` (the own mailbox folder, e.g. `/A81001`) with `mailbox-wait@gatehouse`:
    /// true as soon as it holds a name the last listing did not return (with `uploads`, or an
    /// upload in progress the last ``uploads(in:)`` did not return), false when `timeout` passes
    /// or another request of this session went out meanwhile. Without `uploads` the request is
    /// the one clients before the flags sent.
    public func waitForMail(_ mailbox: String, upTo timeout: Duration, uploads: Bool = false) async throws -> Bool {
        if uploads, !followsUploads { throw SFTPClientError.notFollowed(.unsupported(mailbox)) }
        let milliseconds = Self.milliseconds(timeout)
        let reply = try await connection.request(timeout: timeout + .seconds(30)) {
            SFTPExtendedRequest.mailboxWait(
                path: mailbox, timeoutMilliseconds: milliseconds, flags: uploads ? .uploads : []
            ).message(id: $0)
        }
        if case .status(_, SFTP.StatusCode.eof.rawValue, _, _) = reply { return false }
        try check(reply, mailbox)
        return true
    }

    /// The uploads in progress in `mailbox` (the own mailbox folder): each one's temporary name,
    /// uploader (from the relay's tag) and size.
    public func uploads(in mailbox: String) async throws -> [SFTPMailboxUpload] {
        guard followsUploads else { throw SFTPClientError.notFollowed(.unsupported(mailbox)) }
        let reply = try await connection.request { SFTPExtendedRequest.mailboxUploads(path: mailbox).message(id: $0) }
        do { return try SFTPMailboxUploads.decode(try extendedReply(reply, mailbox)) } catch let error as SFTPError {
            throw SFTPClientError.protocolError("the uploads in \(mailbox): \(error)")
        }
    }

    /// Opens the upload in progress at `path` (a dot-name in the own mailbox) for reading.
    public func openUpload(_ path: String) async throws -> [UInt8] {
        try handle(
            await connection.request { .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes()) }, path)
    }

    /// The state of the upload open on `handle` (from ``openUpload(_:)``; `path` names it in
    /// errors). With `whileSize`, the relay answers once the upload is anything but in progress at
    /// that size, or after `timeout`, or when another request of this session goes out.
    public func uploadState(
        _ handle: [UInt8], path: String, whileSize: UInt64? = nil, upTo timeout: Duration = .zero
    ) async throws -> SFTPUploadState {
        let milliseconds = Self.milliseconds(timeout)
        let reply = try await connection.request(timeout: timeout + SFTPConnection.requestTimeout) {
            SFTPExtendedRequest.uploadState(handle: handle, whileSize: whileSize, timeoutMilliseconds: milliseconds)
                .message(id: $0)
        }
        do { return try SFTPUploadState.decode(try extendedReply(reply, path)) } catch let error as SFTPError {
            throw SFTPClientError.protocolError("the state of \(path): \(error)")
        }
    }

    private func extendedReply(_ reply: SFTPMessage, _ path: String) throws -> [UInt8] {
        switch reply {
        case .extendedReply(_, let data): return data
        case .status(_, let code, let message, _):
            throw SFTPClientError.status(SFTP.StatusCode(rawValue: code), message, path: path)
        default: throw SFTPClientError.protocolError("expected EXTENDED_REPLY for \(path), got \(reply)")
        }
    }

    static func milliseconds(_ duration: Duration) -> UInt32 {
        let (seconds, attoseconds) = duration.components
        let total = max(0, seconds) * 1000 + max(0, attoseconds) / 1_000_000_000_000_000
        return UInt32(clamping: total)
    }
}
