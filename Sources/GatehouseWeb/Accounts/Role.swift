/// What a staff account may do in the web pages.
package enum Role: String, Sendable, CaseIterable, Codable {
    /// Facility or practice clinical staff: the inbox and packs.
    case clinician
    /// Reception or records staff: sending packs and following them.
    case sender
    /// The practice manager or security officer: everything, and accounts' health.
    case admin
    /// A clinical system handing packs to `POST /api/v1/packs` with a bearer token; no pages.
    case intake

    /// May read received packs (patient data).
    package var readsInbox: Bool { self == .clinician || self == .admin }
    /// May send packs and see outgoing bundles.
    package var sends: Bool { self == .sender || self == .admin }
}

/// A staff account name: 1 to 32 of `a-z 0-9 . _ -`, starting with a letter. Kept that narrow
/// because it is shown in pages and written to the audit log.
package enum UserName {
    package static func validate(_ name: String) throws(WebError) {
        let bytes = Array(name.utf8)
        guard (1...32).contains(bytes.count), let first = bytes.first, (0x61...0x7A).contains(first),
            bytes.allSatisfy({
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2E || $0 == 0x5F
                    || $0 == 0x2D
            })
        else {
            throw .invalidInput(
                "\(name.debugDescription) is not an account name: 1 to 32 of a-z, 0-9, '.', '_', '-', "
                    + "starting with a letter")
        }
    }
}
