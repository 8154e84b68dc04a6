/// One upload in progress in a mailbox, as `mailbox-uploads@gatehouse` lists it.
public struct SFTPMailboxUpload: Hashable, Sendable {
    /// Its temporary name (a dot-name) in the mailbox.
    public var name: String
    /// The ODS code of the organisation uploading it, from the relay's uploader tag (never from
    /// the name, which the uploader chose).
    public var uploader: String
    /// Its size when listed.
    public var size: UInt64

    /// An entry.
    public init(name: String, uploader: String, size: UInt64) {
        self.name = name
        self.uploader = uploader
        self.size = size
    }
}

/// The SSH_FXP_EXTENDED_REPLY to `mailbox-uploads@gatehouse`: uint32 count, then per upload
/// string name, string uploader, uint64 size.
public enum SFTPMailboxUploads {
    /// The reply data for `uploads`.
    public static func encoded(_ uploads: [SFTPMailboxUpload]) -> [UInt8] {
        var w = SFTPWriter()
        w.u32(UInt32(uploads.count))
        for upload in uploads {
            w.text(upload.name)
            w.text(upload.uploader)
            w.u64(upload.size)
        }
        return w.bytes
    }

    /// Decodes the reply data.
    public static func decode(_ data: [UInt8]) throws(SFTPError) -> [SFTPMailboxUpload] {
        var r = SFTPReader(data[...])
        let count = try r.u32("the upload count")
        // Each entry takes at least 16 bytes: a count beyond what fits is a lie.
        guard Int(count) <= r.remaining / 16 else {
            throw .malformed("the uploads reply claims \(count) uploads in \(r.remaining) bytes")
        }
        var uploads: [SFTPMailboxUpload] = []
        for _ in 0..<count {
            uploads.append(
                SFTPMailboxUpload(
                    name: try r.text("an upload's name"), uploader: try r.text("an uploader"),
                    size: try r.u64("an upload's size")))
        }
        try r.finish("the uploads reply")
        return uploads
    }
}

/// The SSH_FXP_EXTENDED_REPLY to `mailbox-upload-state@gatehouse`: byte state (1 in progress,
/// 2 published, 3 abandoned), uint64 size, string final name (empty unless published), uint32
/// flags (bit 0: rewritten).
public struct SFTPUploadState: Hashable, Sendable {
    /// Where the file open on the handle is now.
    public enum Phase: Hashable, Sendable {
        /// Still under its temporary name, being written.
        case inProgress
        /// Published by its sender under this final name in the same mailbox: the same file (the
        /// relay compared device and inode), now a bundle, and never written again.
        case published(name: String)
        /// Gone: the sender removed it, its session ended without publishing it, or it was
        /// replaced; no final name in the mailbox is that file.
        case abandoned
    }

    /// The state.
    public var phase: Phase
    /// The file's size now.
    public var size: UInt64
    /// True when the sender wrote somewhere other than the end of what it had written (over
    /// bytes already written, or past a hole): bytes read while it was in progress may not be
    /// the file's bytes. A follower must not use them; it fetches the published file instead.
    public var rewritten: Bool

    private static let rewrittenFlag: UInt32 = 0x1

    /// A state.
    public init(_ phase: Phase, size: UInt64, rewritten: Bool = false) {
        self.phase = phase
        self.size = size
        self.rewritten = rewritten
    }

    /// The reply data.
    public func encoded() -> [UInt8] {
        var w = SFTPWriter()
        switch phase {
        case .inProgress:
            w.u8(1)
            w.u64(size)
            w.text("")
        case .published(let name):
            w.u8(2)
            w.u64(size)
            w.text(name)
        case .abandoned:
            w.u8(3)
            w.u64(size)
            w.text("")
        }
        w.u32(rewritten ? Self.rewrittenFlag : 0)
        return w.bytes
    }

    /// Decodes the reply data: strictly (a name only with `published`, no unknown state or flag).
    public static func decode(_ data: [UInt8]) throws(SFTPError) -> SFTPUploadState {
        var r = SFTPReader(data[...])
        let state = try r.u8("the upload state")
        let size = try r.u64("the upload's size")
        let name = try r.text("the final name")
        let flags = try r.u32("the state flags")
        try r.finish("the upload state reply")
        guard flags & ~rewrittenFlag == 0 else {
            throw .malformed("unknown upload state flags 0x\(String(flags, radix: 16))")
        }
        let phase: Phase
        switch (state, name.isEmpty) {
        case (1, true): phase = .inProgress
        case (2, false): phase = .published(name: name)
        case (3, true): phase = .abandoned
        default: throw .malformed("upload state \(state) with a final name of \(name.utf8.count) bytes")
        }
        return SFTPUploadState(phase, size: size, rewritten: flags & rewrittenFlag != 0)
    }
}
