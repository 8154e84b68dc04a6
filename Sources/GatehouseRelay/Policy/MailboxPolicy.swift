/// A request to the mailbox server, named as OpenSSH's sftp-server names its handlers.
public enum MailboxRequest: String, CaseIterable, Sendable {
    case realpath
    case limits = "limits@openssh.com"
    case openRead = "open (read)"
    case openCreate = "open (create)"
    case read, write, fstat
    case fsync = "fsync@openssh.com"
    case close
    case stat, remove, opendir, readdir
    case publish = "posix-rename@openssh.com"
    case mailboxWait = "mailbox-wait@gatehouse"
    case mailboxUploads = "mailbox-uploads@gatehouse"
    case uploadState = "mailbox-upload-state@gatehouse"
    case rename, setstat, fsetstat, mkdir, rmdir, readlink, symlink
}

/// Where a request acts, as the policy sees it. A handle acts where it was opened.
public enum MailboxScope: String, CaseIterable, Sendable {
    /// The session's own mailbox: a path in it, or a handle opened there.
    case own = "own mailbox"
    /// Another organisation's mailbox: anything there that is not one of this session's
    /// unfinished uploads (a published file, another session's upload, a name not there).
    case other = "other mailbox"
    /// A file this session created under a temporary dot-name in another organisation's
    /// mailbox and has neither published nor removed, or its handle.
    case upload = "this session's upload"
    /// An upload in progress in the own mailbox that this session did not create (a dot-name
    /// there: another session's transfer, or a name no one has created yet), or a handle open
    /// for reading on one. Its owner may follow it, never change it.
    case arriving = "upload arriving in the own mailbox"
}

/// What the policy says about one request in one scope.
public enum MailboxDecision: Equatable, Sendable {
    case allowed
    /// Refused; the reason goes to the refusal log (and to the client, outside other
    /// organisations' mailboxes).
    case refused(String)
}

/// One row of the policy: a request and what it may do in each scope.
public struct MailboxRule: Sendable {
    /// The request.
    public let request: MailboxRequest
    /// Its decision in the own mailbox, in another's, on this session's upload, and on an upload
    /// arriving in the own mailbox.
    public let own: MailboxDecision, other: MailboxDecision, upload: MailboxDecision, arriving: MailboxDecision

    /// The decision in `scope`.
    public func decision(in scope: MailboxScope) -> MailboxDecision {
        switch scope {
        case .own: own
        case .other: other
        case .upload: upload
        case .arriving: arriving
        }
    }
}

/// The mailbox server's rules in one table, as OpenSSH's sftp-server keeps its `handlers[]` and
/// `request_permitted()`: every request is looked up here before its handler runs. A handler
/// checks only what the table cannot see (flags, names, quotas, whether a file exists).
///
/// In another organisation's mailbox a session can create new files and nothing else: it can
/// never look at, remove or replace a published file there, so it cannot suppress a partner's
/// revocation or learn what the mailbox holds. Every refusal there is answered with the same
/// status and message (``otherMailboxRefusal``), whatever the real reason, so that a refusal
/// never tells whether a name exists (the refusal log keeps the real reason for the operator).
public enum MailboxPolicy {
    /// The one answer to every refusal in another organisation's mailbox.
    public static let otherMailboxRefusal =
        "refused: in another organisation's mailbox a session may only create new "
        + "files under a temporary dot-name, write and sync them, and publish them once closed under a new name it "
        + "may use; it can never look at, remove or replace anything there"

    private static let ok = MailboxDecision.allowed
    private static func no(_ why: String) -> MailboxDecision { .refused(why) }
    private static func row(_ request: MailboxRequest, _ own: MailboxDecision, _ other: MailboxDecision,
                            _ upload: MailboxDecision, _ arriving: MailboxDecision) -> MailboxRule {
        MailboxRule(request: request, own: own, other: other, upload: upload, arriving: arriving)
    }

    // The reasons, for the refusal log (and the client, outside other organisations' mailboxes).
    private static let notRead = no("another organisation's mail is never read")
    private static let notListed = no("another organisation's mailbox is never listed")
    private static let notWaited = no("only the own mailbox can be waited on")
    private static let noHandle = no("no handle of this session is in another organisation's mailbox")
    private static let notFolder = no("an upload is a file, not a mailbox folder")
    private static let neverReadBack = no("an upload is never read back")
    private static let createdOnce = no("an upload is created once, never opened again")
    private static let notLooked = no("nothing is looked at in another organisation's mailbox, except this session's "
                                      + "unfinished uploads")
    private static let notRemoved = no("nothing is removed in another organisation's mailbox, except this session's "
                                       + "unfinished uploads")
    private static let notPublished = no("only this session's own upload can be published")
    private static let plainRename = no("plain RENAME is refused: publish with posix-rename@openssh.com, which never "
                                        + "overwrites here")
    // An upload arriving in the own mailbox is its sender's until published: its owner may
    // read it as it grows, and nothing else, so that the sender's publish alone decides what
    // the bundle is.
    private static let notWritten = no("an upload in progress is written only by the session that created it")
    private static let notRemovedArriving = no("an upload in progress is removed only by the session that "
                                               + "created it (or when that session ends)")
    private static let notPublishedArriving = no("only the session that created an upload publishes it")
    private static let notFollowed = no("only the mailbox's owner follows an upload in progress")
    private static let notArriving = no("only a handle open for reading on an upload in progress, in the own "
                                        + "mailbox, has an upload state")
    private static func never(_ request: MailboxRequest) -> MailboxRule {
        let why = no("SSH_FXP_\(request.rawValue.uppercased()) is never allowed on a mailbox server")
        return row(request, why, why, why, why)
    }

    /// The table: request × (own mailbox, other mailbox, this session's upload, an upload arriving
    /// in the own mailbox).
    // swift-format-ignore
    public static let rules: [MailboxRule] = [
        //  request         own mailbox  other mailbox  this session's upload  arriving upload
        // Requests that touch no file.
        row(.realpath,      ok,          ok,            ok,                    ok),
        row(.limits,        ok,          ok,            ok,                    ok),
        // Reading and listing: the own mailbox only (an arriving upload as it grows).
        row(.openRead,      ok,          notRead,       neverReadBack,         ok),
        row(.read,          ok,          noHandle,      neverReadBack,         ok),
        row(.opendir,       ok,          notListed,     notFolder,             notFolder),
        row(.readdir,       ok,          noHandle,      notFolder,             notFolder),
        row(.mailboxWait,   ok,          notWaited,     notFolder,             notFolder),
        row(.mailboxUploads, ok,         notListed,     notFolder,             notFolder),
        row(.uploadState,   notArriving, noHandle,      notFollowed,           ok),
        // Uploading: a new file in any registered mailbox (the handler insists on a new dot-name,
        // created with O_EXCL, so an arriving upload is never opened again).
        row(.openCreate,    ok,          ok,            createdOnce,           ok),
        row(.write,         ok,          noHandle,      ok,                    notWritten),
        row(.fstat,         ok,          noHandle,      ok,                    ok),
        row(.fsync,         ok,          noHandle,      ok,                    notWritten),
        row(.close,         ok,          noHandle,      ok,                    ok),
        // Looking at and removing: the own mailbox, and this session's unfinished uploads.
        row(.stat,          ok,          notLooked,     ok,                    ok),
        row(.remove,        ok,          notRemoved,    ok,                    notRemovedArriving),
        // Publishing: this session's upload, once closed, to a new name it may use (the handler
        // checks the name).
        row(.publish,       ok,          notPublished,  ok,                    notPublishedArriving),
        // Never: overwriting renames, attributes, folders, links.
        row(.rename,        plainRename, plainRename,   plainRename,           plainRename),
        never(.setstat), never(.fsetstat), never(.mkdir), never(.rmdir), never(.readlink), never(.symlink),
    ]

    /// The decision for `request` in `scope`.
    public static func decision(_ request: MailboxRequest, in scope: MailboxScope) -> MailboxDecision {
        table[request]!.decision(in: scope)
    }

    private static let table = Dictionary(uniqueKeysWithValues: rules.map { ($0.request, $0) })
}
