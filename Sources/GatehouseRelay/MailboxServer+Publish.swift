import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

extension MailboxServer {
    /// `posix-rename@openssh.com`, restricted: from an upload this session created and closed,
    /// to a new final name in the same mailbox that the session may use (never an overwrite).
    /// The policy has already refused a `from` that is neither in the own mailbox nor this
    /// session's upload.
    func publish(_ id: UInt32, _ from: MailboxPath, _ toText: String) -> SFTPMessage {
        let what = "\(from.description) -> \(toText)"
        func refused(_ why: String) -> SFTPMessage { refuse(id, .publish, what, why, from.org == org ? .own : .other) }
        guard created.contains(from) else { return refused("only an upload made in this session can be published") }
        guard !isOpenUpload(from) else { return refused("close the upload's handle before publishing it") }
        guard let to = MailboxPath(toText), let name = to.name, to.org == from.org, !to.isTemporary else {
            return refused("publish to a final name in the same mailbox")
        }
        if to.org != org, let owner = Self.nameOwner(name), owner != org {
            return refused("\(name) is a name only \(owner) may publish")
        }
        do throws(SystemError) {
            try DurableFile.renameNoReplace(filePath(from), filePath(to))
        } catch {
            guard error.code == EEXIST else {
                return errnoStatus(
                    id, .publish, "publish \(to)", path: what, scope: to.org == org ? .own : .other, error: error.code)
            }
            // A retry of a delivery whose answer was lost: the same name from the same sender
            // always holds the same bytes, so this upload is already delivered. Said only about
            // a file this organisation uploaded itself: a publish onto anyone else's file is
            // refused like any other, so that it never tells whether the name exists.
            guard isAlreadyDelivered(from, as: to) else {
                return refused("\(to) exists, from another sender or with other contents; mailboxes never overwrite")
            }
            unlink(filePath(from))
            created.remove(from)
            return status(id, .ok)
        }
        created.remove(from)
        // The client counts a bundle delivered on this answer: only once the name is durable.
        do { try DurableFile.syncFolder(folder(to.org)) } catch {
            return status(id, .failure, "publish \(to): the mailbox folder could not be synced: \(error)")
        }
        return status(id, .ok)
    }

    /// The organisation that alone may publish `name` in another organisation's mailbox: a
    /// receipt `<id>.<ODS>.ghr` is ODS's, a key manifest `<ODS>.<version>.ghk` is ODS's; a bundle
    /// or any other name is anyone's (nil). So no one can place a receipt or a key manifest in
    /// the name of another organisation.
    static func nameOwner(_ name: String) -> ODSCode? {
        switch MailboxName.classify(name) {
        case .receipt(_, let receiver): receiver
        case .manifest(let sender, _): sender
        case .bundle, .unknown: nil
        }
    }

    /// True when `to` holds the same bytes as the upload `from` and, outside the own mailbox,
    /// was uploaded by this organisation.
    func isAlreadyDelivered(_ from: MailboxPath, as to: MailboxPath) -> Bool {
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        let existing = Glibc.open(filePath(to), flags)
        let upload = Glibc.open(filePath(from), flags)
        defer {
            if existing >= 0 { Glibc.close(existing) }
            if upload >= 0 { Glibc.close(upload) }
        }
        guard existing >= 0, upload >= 0 else { return false }
        guard to.org == org || UploaderTag.read(existing) == org else { return false }
        return Self.sameContents(existing, upload)
    }

    /// True when both descriptors are regular files with the same bytes.
    static func sameContents(_ fa: Int32, _ fb: Int32) -> Bool {
        var sa = Glibc.stat()
        var sb = Glibc.stat()
        guard Glibc.fstat(fa, &sa) == 0, Glibc.fstat(fb, &sb) == 0, sa.st_mode & S_IFMT == S_IFREG,
            sb.st_mode & S_IFMT == S_IFREG, sa.st_size == sb.st_size
        else { return false }
        var ba = [UInt8](repeating: 0, count: 64 * 1024)
        var bb = ba
        var offset: off_t = 0
        while true {
            let na = ba.withUnsafeMutableBytes { pread(fa, $0.baseAddress, $0.count, offset) }
            guard na >= 0 else { return false }
            if na == 0 { return true }
            var got = 0
            while got < na {
                let n = bb.withUnsafeMutableBytes { pread(fb, $0.baseAddress! + got, na - got, offset + off_t(got)) }
                guard n > 0 else { return false }
                got += n
            }
            guard ba[0..<na] == bb[0..<na] else { return false }
            offset += off_t(na)
        }
    }
}
