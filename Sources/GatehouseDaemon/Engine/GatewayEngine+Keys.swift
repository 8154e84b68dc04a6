import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// An item that cannot be handled until its sender's newer key manifest arrives.
struct DeferredItem: Error, CustomStringConvertible {
    let description: String
}

extension GatewayEngine {
    /// Key upkeep, at most once a second (FORMAT.md §5.3): sends the own key manifest to every
    /// partner that has not received its current version, destroys secrets whose grace window
    /// has ended, and logs expiry warnings (30 and 7 days ahead) once per threshold.
    public func maintainKeys() async {
        let now = clock.now()
        guard now >= nextKeyCheck else { return }
        nextKeyCheck = now + 1000
        let card: IdentityCard
        let partners: [IdentityCard]
        do {
            card = try gateway.keys.loadOwnCard()
            partners = try gateway.partners.list()
        } catch {
            log(.error, "reading the identity cards for key upkeep failed: \(error)")
            return
        }
        let seconds = UInt64(max(0, now / 1000))
        // Partners known only through the directory get the manifest too, once an exchange
        // started a record for them (``deliver(_:)``): their gateways hold the listed card.
        let listed = manifests.partners().filter { org in
            org != card.org && !partners.contains { $0.org == org }
                && (try? gateway.partners.knownCard(for: org)) != nil
        }
        for partner in partners.map(\.org) + listed where partner != card.org {
            await sendManifest(card, to: partner, now: now)
        }
        do {
            for id in try gateway.keys.destroyRetiredSecrets(now: seconds) {
                let role = card.manifest.record(for: id)?.key.role ?? "key"
                log(.info, "destroyed the secret of \(role) key \(id): its grace window has ended or it was revoked")
                audit(AuditEvent("key-destroyed", org: card.org, detail: "\(role) \(id)"))
            }
        } catch {
            log(.error, "destroying retired keys failed: \(error)")
        }
        let recipients = (partners.map(\.org) + listed).filter { $0 != card.org }
        let revocations = KeyWarnings.unconfirmedRevocations(own: card, partners: recipients,
                                                             ledger: manifests, within: settings.revocationConfirmWithin, now: seconds)
        for warning in KeyWarnings.warnings(own: card, partners: partners, now: seconds) + revocations where warned.insert(warning.key).inserted {
            log(.warning, warning.message)
            audit(AuditEvent("key-expiry-warning", org: card.org, detail: warning.key))
        }
        for warning in revocations { notifyUnconfirmedRevocation(warning, now: now) }
        notifyOverdueAndExpiring(own: card, partners: partners, now: now)
    }

    /// Delivers the own manifest to `partner`'s mailbox until the partner's gateway confirms this
    /// version with a signed receipt: at once for a new version, then every `manifestResend`.
    /// (Counting a manifest delivered when the upload succeeded let a relay insider delete a
    /// revocation from the partner's mailbox unnoticed; only the partner's signature proves it.)
    func sendManifest(_ card: IdentityCard, to partner: ODSCode, now: Int64) async {
        let version = card.manifest.version
        var delivery = manifests.delivery(to: partner)
        if delivery.hasConfirmed(version) { return }
        if let retry = manifestRetryAt[partner], retry > now { return }
        let bytes = Array(card.text.utf8)
        let id = ManifestLedger.deliveryID(of: bytes).hex
        let previous = delivery.entry(id: id)
        if let previous, now - previous.lastSentAt < RetryPolicy.milliseconds(settings.manifestResend) { return }
        // A hidden name in work/out: recover() removes it if a crash leaves it behind.
        let local = "\(spool.work)/out/.manifest-\(partner.value).ghk"
        do {
            try FileOperations.replaceAtomically(at: local, contents: bytes, mode: 0o600)
            defer { unlink(local) }
            try await transport(for: partner).deliver(local, to: partner, as: MailboxName.manifest(from: card.org, version: version))
            delivery.sent.removeAll { $0.id == id }
            delivery.sent.append(ManifestDelivery.Sent(
                version: version, id: id, sha256: SHA256Hasher.hash(bytes).hex, firstSentAt: previous?.firstSentAt ?? now,
                lastSentAt: now, revoked: ManifestLedger.revokedKeys(of: card)))
            try manifests.save(delivery, for: partner)
            manifestRetryAt[partner] = nil
            let again = previous == nil ? "" : " again (not yet confirmed)"
            log(.info, "sent key manifest version \(version)\(again)", partner: partner)
            audit(AuditEvent("manifest-sent", org: partner, detail: "version \(version)"))
        } catch {
            manifestRetryAt[partner] = now + 5000
            log(.warning, "sending key manifest version \(version) failed, trying again in 5 s: \(error)", partner: partner)
        }
    }

    /// A partner known only through the directory holds the card its listing gives: from the first
    /// bundle delivered to it on, it gets the own manifest as a pinned partner does, so that a
    /// rotation reaches it (FORMAT.md §5.3; ``maintainKeys()`` then follows the record).
    func startManifestRecord(for partner: ODSCode) async {
        guard manifests.delivery(to: partner).sent.isEmpty, (try? gateway.partners.card(for: partner)) == nil,
              let card = try? gateway.keys.loadOwnCard() else { return }
        await sendManifest(card, to: partner, now: clock.now())
    }

    /// A partner's receipt for one of the own key manifests (matched by its id in the ledger of
    /// `partner`): checked by the one receipt rule (``ReceiptAcceptance``) against `partner`'s
    /// pinned card; a `processed` receipt for the exact bytes sent confirms that version.
    /// Returns nil when `id` is not a manifest sent to `partner`.
    func receiveManifestReceipt(_ bytes: [UInt8], id: BundleID, partner: ODSCode, name: String) throws -> Bool? {
        var delivery = manifests.delivery(to: partner)
        guard let sent = delivery.entry(id: id.hex) else { return nil }
        let card = try gateway.partners.requireResolvedCard(for: partner)
        let accepted = try ReceiptAcceptance.check(bytes, id: id, addressee: card, sender: own.org,
                                                   now: UInt64(max(0, clock.now() / 1000)))
        guard accepted.receipt.receivedAt + KeyManifest.clockSkew >= UInt64(max(0, sent.firstSentAt / 1000)) else {
            throw FormatError.integrityCheckFailed("the receipt is dated before key manifest version \(sent.version) was sent", bundle: id.hex)
        }
        let sameBytes = accepted.receipt.bundleSHA256.hex == sent.sha256
        switch accepted.receipt.disposition {
        case .processed where sameBytes:
            if !delivery.hasConfirmed(sent.version) {
                delivery.confirmed = sent.version
                delivery.confirmedAt = clock.now()
                delivery.confirmedRevoked = sent.revoked
            }
            delivery.lastRefusal = nil
            log(.info, "\(partner) confirmed key manifest version \(sent.version)", partner: partner)
            audit(AuditEvent("manifest-confirmed", org: partner, sha256: sent.sha256, detail: "version \(sent.version)"))
        case .processed:
            delivery.lastRefusal = "version \(sent.version): confirmed for other bytes (\(accepted.receipt.bundleSHA256))"
            log(.error, "\(partner)'s receipt for key manifest version \(sent.version) names other bytes; not confirmed", partner: partner)
        case .failed(let reason):
            delivery.lastRefusal = "version \(sent.version): \(reason)"
            log(.warning, "\(partner) refused key manifest version \(sent.version) (\(reason))", partner: partner)
            audit(AuditEvent("manifest-refused-by-partner", org: partner, detail: "version \(sent.version): \(reason)"))
        case .held:
            // Manifests are never held (only bundles are, FORMAT.md §4.1): nothing is confirmed.
            log(.warning, "\(partner) answered key manifest version \(sent.version) with a held receipt; not confirmed",
                partner: partner)
        }
        try manifests.save(delivery, for: partner)
        return true
    }

    /// A partner's key-manifest control bundle from the own mailbox: its identity card, accepted
    /// only from a pinned partner, with a higher manifest version, signed by the pinned root or
    /// by a new root the pinned one endorsed. Anything else is quarantined and audited with the
    /// reason; the manifest held stays in force. Returns false when it could not be handled now.
    func receiveManifest(from sender: ODSCode, name: String, mailbox: any MailboxTransport) async -> Bool {
        let local = "\(spool.work)/in/\(name)"
        do {
            removeTree(local)
            // Anything larger than the largest card is not one: not downloaded (refused below).
            var tooLarge = false
            do {
                try await mailbox.fetch(name, from: own.org, to: local, maxBytes: UInt64(IdentityCard.maxTextLength))
            } catch is MailboxItemTooLarge {
                tooLarge = true
            }
            defer { unlink(local) }
            let bytes = tooLarge ? nil : try FileOperations.read(at: local, limit: IdentityCard.maxTextLength) ?? []
            let disposition = try handleManifest(bytes, from: sender, name: name)
            // The owner counts its manifest delivered only on this signed answer (FORMAT.md §5.3).
            // A repeat of a version already held is confirmed again: the first answer may be lost.
            if let bytes, (try? gateway.partners.knownCard(for: sender)) != nil {
                let id = ManifestLedger.deliveryID(of: bytes)
                let digest = SHA256Hasher.hash(bytes)
                let receipt = try Receipt.signed(
                    bundleID: id, bundleSender: sender, receiver: own.org, bundleSHA256: digest, receivedAt: UInt64(max(0, clock.now() / 1000)),
                    disposition: disposition, manifestSHA256: disposition == .processed ? digest : nil, fileDigests: [],
                    signingKey: try gateway.keys.loadSigningKey())
                try await sendReceipt(receipt.encoded, for: id, to: sender)
            }
            try await mailbox.remove(name, from: own.org)
            return true
        } catch {
            logFailureOnce(name, "handling key manifest \(name) failed: \(error)")
            return false
        }
    }

    /// Accepts or refuses the manifest bytes, and returns what the receipt to the owner says;
    /// throws only when nothing was decided (a disk error).
    private func handleManifest(_ bytes: [UInt8]?, from sender: ODSCode, name: String) throws -> ReceiptDisposition {
        guard let bytes else {
            return refuseManifest([], name: name, from: sender, reason: "malformed", detail: "larger than the largest identity card (\(IdentityCard.maxTextLength) bytes)")
        }
        let card: IdentityCard
        do {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw FormatError.malformed("not UTF-8 text") }
            card = try IdentityCard.parse(text)
        } catch let error as FormatError {
            return refuseManifest(bytes, name: name, from: sender, reason: error.category == .authenticationFailed ? "bad-signature" : "malformed",
                                  detail: error.description)
        }
        guard card.org == sender else {
            return refuseManifest(bytes, name: name, from: sender, reason: "misaddressed", detail: "named as \(sender)'s, but it is the card of \(card.org)")
        }
        let now = UInt64(max(0, clock.now() / 1000))
        do {
            // Never waiting in the actor for a key command (which may be waiting for a person):
            // a busy lock leaves the manifest in the mailbox for the next round.
            let (outcome, previous) = try gateway.partners.update(with: card, now: now, waitForLock: false)
            guard outcome != .unchanged else {
                log(.info, "key manifest version \(card.manifest.version) is the one already held", partner: sender)
                return .processed
            }
            let rooted = outcome == .rootRotated ? "; new root \(card.fingerprint), endorsed by the pinned one" : ""
            log(.info, "accepted key manifest version \(card.manifest.version) (was \(previous.manifest.version)): signing key \(card.signingKeyID), encryption key \(card.encryptionKeyID)\(rooted)",
                partner: sender)
            audit(AuditEvent(outcome == .rootRotated ? "partner-root-rotated" : "partner-manifest-accepted", org: sender,
                             detail: "version \(previous.manifest.version) -> \(card.manifest.version); signing \(card.signingKeyID); encryption \(card.encryptionKeyID)"))
            // Items waiting for this manifest are looked at again now (held bundles too).
            deferred.removeAll()
            held.retryAt.removeAll()
            return .processed
        } catch {
            let stored = (try? gateway.partners.knownCard(for: sender))?.card
            let reason: String
            switch error.category {
            case .unknownPartner: reason = "unknown-partner"
            case .invalidCard where card.expires <= now: reason = "expired"
            case .partnerConflict:
                let endorsed = stored.map { held in card.manifest.rootHistory.contains { $0.root == held.rootKey } } == true
                reason = stored.map { $0.rootKey != card.rootKey } == true && !endorsed ? "different-root" : "not-newer"
            default: throw error
            }
            return refuseManifest(bytes, name: name, from: sender, reason: reason, detail: error.message)
        }
    }

    /// Quarantines a refused manifest and returns the `failed` disposition its receipt carries.
    private func refuseManifest(_ bytes: [UInt8], name: String, from sender: ODSCode, reason: String,
                                detail: String) -> ReceiptDisposition {
        let folder = newQuarantineFolder("manifest")
        try? FileOperations.makeDirectory(folder, mode: 0o700)
        try? FileOperations.createExclusively(at: "\(folder)/\(name)", contents: bytes, mode: 0o600)
        writeReason("KEY MANIFEST REFUSED (\(reason)): \(detail)\nThe manifest held for \(sender) stays in force.\nclaimed sender: \(sender)"
                    + "\ngroup: \(QuarantineIndex.unverified)", to: "\(folder)/reason.txt")
        keepQuarantineBounded(folder, group: QuarantineIndex.unverified)
        log(.error, "key manifest \(name) refused (\(reason)): \(detail)", partner: sender)
        audit(AuditEvent("partner-manifest-refused", org: sender, detail: reason))
        let receiptReasons: [String: ReceiptReason] = [
            "bad-signature": .authenticationFailed, "misaddressed": .authenticationFailed, "different-root": .authenticationFailed,
            "unknown-partner": .unknownSender, "expired": .expired, "not-newer": .duplicate,
        ]
        return .failed(receiptReasons[reason] ?? .malformed)
    }

    /// Puts an item signed by a key its sender's manifest does not name aside for 30 seconds
    /// (or until a newer manifest is accepted): the manifest naming the key is usually a moment
    /// behind. Logged once per item.
    func deferItem(_ name: String, _ reason: String, partner: ODSCode?) {
        if deferred[name] == nil {
            log(.warning, "waiting for a newer key manifest before handling \(name): \(reason)", partner: partner)
        }
        deferred[name] = clock.now() + 30_000
        if deferredSince[name] == nil { deferredSince[name] = clock.now() }
    }

    /// True once `name` has waited `limits.unknownSenderHold` for a manifest naming its key.
    func holdIsOver(_ name: String) -> Bool {
        guard let since = deferredSince[name] else { return false }
        return clock.now() - since >= RetryPolicy.milliseconds(settings.limits.unknownSenderHold)
    }
}
