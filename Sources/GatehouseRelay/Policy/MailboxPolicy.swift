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
    /// Its decision in the own mailbox, in another's, and on this session's upload.
    public let own: MailboxDecision, other: MailboxDecision, upload: MailboxDecision

    /// The decision in `scope`.
    public func decision(in scope: MailboxScope) -> MailboxDecision {
        switch scope {
        case .own: own
        case .other: other
        case .upload: upload
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
                            _ upload: MailboxDecision) -> MailboxRule {
        MailboxRule(request: request, own: own, other: other, upload: upload)
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
    private static func never(_ request: MailboxRequest) -> MailboxRule {
        let why = no("SSH_FXP_\(request.rawValue.uppercased()) is never allowed on a mailbox server")
        return row(request, why, why, why)
    }

    /// The table: request × (own mailbox, other mailbox, this session's upload).
    // swift-format-ignore
    public static let rules: [MailboxRule] = [
        //  request         own mailbox  other mailbox  this session's upload
        // Requests that touch no file.
        row(.realpath,      ok,          ok,            ok),
        row(.limits,        ok,          ok,            ok),
        // Reading and listing: the own mailbox only.
        row(.openRead,      ok,          notRead,       neverReadBack),
        row(.read,          ok,          noHandle,      neverReadBack),
        row(.opendir,       ok,          notListed,     notFolder),
        row(.readdir,       ok,          noHandle,      notFolder),
        row(.mailboxWait,   ok,          notWaited,     notFolder),
        // Uploading: a new file in any registered mailbox (the handler insists on a new dot-name).
        row(.openCreate,    ok,          ok,            createdOnce),
        row(.write,         ok,          noHandle,      ok),
        row(.fstat,         ok,          noHandle,      ok),
        row(.fsync,         ok,          noHandle,      ok),
        row(.close,         ok,          noHandle,      ok),
        // Looking at and removing: the own mailbox, and this session's unfinished uploads.
        row(.stat,          ok,          notLooked,     ok),
        row(.remove,        ok,          notRemoved,    ok),
        // Publishing: this session's upload, once closed, to a new name it may use (the handler
        // checks the name).
        row(.publish,       ok,          notPublished,  ok),
        // Never: overwriting renames, attributes, folders, links.
        row(.rename,        plainRename, plainRename,   plainRename),
        never(.setstat), never(.fsetstat), never(.mkdir), never(.rmdir), never(.readlink), never(.symlink),
    ]

    /// The decision for `request` in `scope`.
    public static func decision(_ request: MailboxRequest, in scope: MailboxScope) -> MailboxDecision {
        table[request]!.decision(in: scope)
    }

    private static let table = Dictionary(uniqueKeysWithValues: rules.map { ($0.request, $0) })
}
