/// The one rule by which a sender accepts a receipt (FORMAT.md §4.2), shared by the daemon and
/// `gatehouse receipt show`, so that the two can never disagree.
///
/// A receipt counts only when all of these hold:
/// 1. it parses strictly and is about the bundle (or key manifest) it was matched to;
/// 2. its `receiver` is the organisation the sender's own journal says the item was addressed to
///    (never an organisation named by the mailbox file name or by anyone else);
/// 3. it names this organisation as the bundle's sender;
/// 4. its key id is a signing key in *that addressee's* key manifest held here, acceptable for a
///    signature made at the receipt's `received_at` as judged at `now` (current, or superseded
///    within its grace window, or revoked after the signature);
/// 5. the Ed25519 signature verifies under that key.
///
/// The bundle digest is not part of the rule: a `failed` receipt for altered bytes names the
/// altered bytes' digest, and the sender must still learn that its bundle failed. Callers compare
/// the digest to decide between acknowledged and failed.
public enum ReceiptAcceptance {
    /// The verified receipt, with the key that signed it.
    public struct Accepted: Sendable {
        /// The receipt.
        public let receipt: Receipt
        /// The key it verified under (with a note when it was signed before its key's revocation).
        public let signer: SignerKey
    }

    /// Checks `bytes` as the receipt for item `id`, which this organisation (`sender`) addressed
    /// to the organisation whose pinned card is `addressee`. Throws with the reason otherwise.
    ///
    /// A key id the addressee's manifest does not name throws ``FormatError/Category/unknownKey``
    /// (the addressee's newer manifest may be on its way); everything else that fails is final.
    public static func check(_ bytes: [UInt8], id: BundleID, addressee: IdentityCard, sender: ODSCode,
                             now: UInt64) throws(FormatError) -> Accepted {
        let receipt = try Receipt.parse(bytes)
        guard receipt.bundleID == id else {
            throw .integrityCheckFailed("the receipt was matched to \(id) but is about \(receipt.bundleID)", bundle: id.hex)
        }
        // Rule 2 before any key is looked up: the key is taken from the addressee's card only,
        // so another pinned organisation's valid signature can never stand for the addressee's.
        guard receipt.receiver == addressee.org else {
            throw .authenticationFailed("the receipt claims to be from \(receipt.receiver), but \(id) was addressed to \(addressee.org)",
                                        bundle: id.hex)
        }
        let signer = try addressee.signer(receipt.receiverKeyID, signedAt: receipt.receivedAt, now: now)
        try receipt.verifySignature(from: addressee.org, key: signer.key, sender: sender)
        return Accepted(receipt: receipt, signer: signer)
    }
}
