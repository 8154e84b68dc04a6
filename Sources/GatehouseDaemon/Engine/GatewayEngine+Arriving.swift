import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// Follows uploads still in progress in the own mailbox from pinned partners, where the
    /// relay tells of them (README, "Reading an upload in progress"), so that a bundle is opened
    /// while its sender is still sealing and uploading it. At most one a round, each once while
    /// listed; an upload from an organisation that is not a partner here is never read.
    ///
    /// Following is a head start and nothing else: a bundle is received, journalled and answered
    /// only when its sender has published that very file under the bundle's name; an upload
    /// abandoned, replaced, rewritten, published under another name, sent by another organisation
    /// than its header's sender, idle for `followIdle` or followed for `followLimit` (settings)
    /// leaves nothing, and the published bundle (if any) is collected from the listing as before.
    func collectArriving(_ mailbox: any MailboxTransport) async -> Int {
        guard mailbox.followsUploads, let uploads = try? await mailbox.uploadsInProgress(own.org) else { return 0 }
        followedUploads.formIntersection(uploads.map(\.name))
        // One a round, after the listed mail: a partner that starts many crawling uploads (the
        // relay lists up to 500) delays the rest of this mailbox by one follow, not by 500.
        let next = uploads.first { upload in
            !followedUploads.contains(upload.name) && upload.uploader != own.org
                && (try? gateway.partners.resolvedCard(for: upload.uploader)) != nil
        }
        guard let next else { return 0 }
        followedUploads.insert(next.name)
        return await receiveArriving(next, mailbox: mailbox) ? 1 : 0
    }

    /// Follows `upload` and, once its header is in, receives it as the bundle it names.
    private func receiveArriving(_ upload: ArrivingUpload, mailbox: any MailboxTransport) async -> Bool {
        let local = "\(spool.work)/in/.arriving-\(UUID().uuidString.lowercased()).ghb"
        let download = IncomingDownload.follow(
            upload, in: own.org, to: local, maxBytes: UInt64(max(0, settings.limits.bundleMaxBytes)), mailbox: mailbox)
        // An upload that stops growing, or takes too long, is let go (the follower stops at its
        // next pause): other mail waits while one is followed.
        let idle = settings.followIdle, limit = settings.followLimit
        let watchdog = Task.detached {
            let began = ContinuousClock.now
            var seen = download.received.value, still = began
            while !Task.isCancelled, download.growing.progress.length == nil, download.growing.progress.failure == nil {
                try? await Task.sleep(for: .milliseconds(250))
                // Bytes received, not bytes the copy has flushed (1 MiB at a time): an upload
                // slower than that is still moving.
                let now = download.received.value
                if now != seen { still = .now }
                if ContinuousClock.now - still > idle || ContinuousClock.now - began > limit { download.task.cancel() }
                seen = now
            }
        }
        defer { watchdog.cancel() }
        await download.available(UInt64(BundleHeader.maxLength))
        let header = (try? BundleVerifier.readHeader(from: FollowingSource(download.growing)))?.header
        // The relay's record of who uploads it must be the sender the header names, and a bundle
        // seen before is answered from the listing once published, never from an upload.
        guard let header, header.sender == upload.uploader, (try? journal.incoming(header.bundleID)) == nil else {
            download.task.cancel()
            _ = await download.task.result
            unlink(local)
            return false
        }
        log(.info, "opening \(upload.name) while \(upload.uploader) uploads it", bundle: header.bundleID, partner: header.sender)
        return await receiveBundle(header.bundleID, name: MailboxName.bundle(header.bundleID), mailbox: mailbox,
                                   arriving: (download, local))
    }
}
