/// An error from the home folder: the key store, the partner store or durable file writing.
///
/// One public struct with a growable category, built by static factories (the style of
/// `FormatError`). Messages name the path concerned and never contain a secret.
public struct KitError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for callers (the CLI's exit codes) to switch on.
    public enum Category: String, Hashable, Sendable, CaseIterable {
        /// The home folder has no identity yet.
        case notInitialised = "not-initialised"
        /// `init` found keys already there.
        case alreadyInitialised = "already-initialised"
        /// A secret key file can be read, written or executed by group or others.
        case unsafePermissions = "unsafe-permissions"
        /// A secret key file, or the own identity card, is damaged or does not match.
        case keyFileInvalid = "key-file-invalid"
        /// The root key is not here: kept offline (`--root-key FILE` names it), or the file named
        /// does not exist. Not damage: nothing needs restoring if the offline copy is at hand.
        case rootKeyUnavailable = "root-key-unavailable"
        /// A passphrase-protected key file did not open with the passphrase given (AEAD cannot
        /// tell a wrong passphrase from a changed file; a wrong passphrase is far more likely).
        case wrongPassphrase = "wrong-passphrase"
        /// A passphrase is needed and there is no way to ask for it (no terminal, no
        /// `--passphrase-file`, an empty passphrase): a usage error.
        case passphraseUnavailable = "passphrase-unavailable"
        /// No card is stored for the organisation asked for.
        case unknownPartner = "unknown-partner"
        /// A card would replace a partner's pinned root key, or roll back to an older card.
        case partnerConflict = "partner-conflict"
        /// A stored partner card does not parse or verify.
        case invalidCard = "invalid-card"
        /// A value the caller supplied is not acceptable (an organisation name, say).
        case invalidInput = "invalid-input"
        /// A file that must be created new already exists.
        case fileExists = "file-exists"
        /// A path that must name a regular file names a FIFO, a device, a folder, a link, …
        case notRegularFile = "not-regular-file"
        /// Reading, writing or syncing failed.
        case io
        /// Another process holds the home (a running daemon) or its keys (a key change).
        case busy
        /// This user may not read a file of the home (not a member of its group).
        case permissionDenied = "permission-denied"
    }

    /// The category of the failure.
    public let category: Category
    /// What failed, in words.
    public let message: String
    /// The file or folder concerned, when there is one.
    public let path: String?
    /// For `permissionDenied`: the group of the folder that refused, which grants access.
    public let group: String?

    private init(_ category: Category, _ message: String, path: String?, group: String? = nil) {
        self.category = category
        self.message = message
        self.path = path
        self.group = group
    }

    /// The home folder has no identity yet.
    public static func notInitialised(_ message: String, path: String? = nil) -> KitError { .init(.notInitialised, message, path: path) }
    /// Keys already exist.
    public static func alreadyInitialised(_ message: String, path: String? = nil) -> KitError { .init(.alreadyInitialised, message, path: path) }
    /// A key file is open to group or others.
    public static func unsafePermissions(_ message: String, path: String) -> KitError { .init(.unsafePermissions, message, path: path) }
    /// A key file or the own card is damaged.
    public static func keyFileInvalid(_ message: String, path: String? = nil) -> KitError { .init(.keyFileInvalid, message, path: path) }
    /// The root key is kept offline, or the file named does not exist.
    public static func rootKeyUnavailable(_ message: String, path: String) -> KitError {
        .init(.rootKeyUnavailable, message, path: path)
    }
    /// A protected key file did not open with the passphrase given.
    public static func wrongPassphrase(_ message: String, path: String) -> KitError {
        .init(.wrongPassphrase, message, path: path)
    }
    /// A passphrase is needed and cannot be asked for.
    public static func passphraseUnavailable(_ message: String, path: String? = nil) -> KitError {
        .init(.passphraseUnavailable, message, path: path)
    }
    /// No such partner.
    public static func unknownPartner(_ message: String, path: String? = nil) -> KitError { .init(.unknownPartner, message, path: path) }
    /// A pinned root key would change, or a card would roll back.
    public static func partnerConflict(_ message: String, path: String? = nil) -> KitError { .init(.partnerConflict, message, path: path) }
    /// A stored card is invalid.
    public static func invalidCard(_ message: String, path: String? = nil) -> KitError { .init(.invalidCard, message, path: path) }
    /// A caller-supplied value is unacceptable.
    public static func invalidInput(_ message: String, path: String? = nil) -> KitError { .init(.invalidInput, message, path: path) }
    /// A file to be created already exists.
    public static func fileExists(_ message: String, path: String) -> KitError { .init(.fileExists, message, path: path) }
    /// A path names a FIFO, a device, a folder or a link where a regular file is needed.
    public static func notRegularFile(_ message: String, path: String) -> KitError {
        .init(.notRegularFile, message, path: path)
    }
    /// An I/O call failed.
    public static func io(_ message: String, path: String? = nil) -> KitError { .init(.io, message, path: path) }

    /// This user may not read `path`; membership of `group` would let it.
    public static func permissionDenied(_ message: String, path: String, group: String?) -> KitError {
        .init(.permissionDenied, message, path: path, group: group)
    }

    /// Another process holds a lock this needs.
    public static func busy(_ message: String, path: String? = nil) -> KitError { .init(.busy, message, path: path) }

    /// The message, which names the path concerned.
    public var description: String { message }
}
