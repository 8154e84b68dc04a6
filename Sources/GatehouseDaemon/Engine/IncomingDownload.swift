import Foundation
import Glibc
import GatehouseFormat
import GatehouseKit
import Synchronization

/// A bundle being downloaded from the own mailbox while it is opened (open while downloading):
/// the copy's progress, and the download itself, awaited before anything reads the copy whole.
struct IncomingDownload: Sendable {
    /// The copy's progress, followed by the opener (``FollowingSource``).
    let growing: GrowingFile
    /// The download; it throws ``MailboxItemTooLarge`` before writing anything, or what cut it.
    let task: Task<Void, any Error>
    /// Bytes received so far, whether or not the copy has flushed them yet (it writes 1 MiB at a
    /// time): what says a slow upload is still moving.
    var received = Received()

    /// A count shared by the download's task and whoever watches it.
    final class Received: Sendable {
        private let count = Mutex<UInt64>(0)
        func add(_ bytes: Int) { count.withLock { $0 += UInt64(bytes) } }
        var value: UInt64 { count.withLock { $0 } }
    }

    /// Starts downloading `name` from `org`'s mailbox into `local`.
    static func start(_ name: String, from org: ODSCode, to local: String, maxBytes: UInt64,
                      mailbox: any MailboxTransport) -> IncomingDownload {
        let growing = GrowingFile()
        // Detached: the engine's actor opens the bundle meanwhile, and the download must not wait for it.
        let task = Task.detached { try await mailbox.fetch(name, from: org, to: local, maxBytes: maxBytes, progress: growing) }
        return IncomingDownload(growing: growing, task: task)
    }

    /// Starts following the upload in progress `upload` in `org`'s mailbox into the new local file
    /// `local`, as it is written on the relay. The copy is complete only when its sender published
    /// that very file under the final name of the bundle its header names, sent by the
    /// organisation that uploaded it: otherwise it fails, and what was read is no bundle.
    static func follow(_ upload: ArrivingUpload, in org: ODSCode, to local: String, maxBytes: UInt64,
                       mailbox: any MailboxTransport) -> IncomingDownload {
        let growing = GrowingFile()
        let received = Received()
        let task = Task.detached {
            let out: DurableFile
            do { out = try DurableFile(path: local, mode: 0o600) } catch {
                growing.fail("\(error)")
                throw error
            }
            do {
                out.onWritten = { growing.advance(to: $0) }
                growing.begin(temporary: out.temporaryPath, final: local)
                let followed = try await mailbox.follow(upload.name, in: org, maxBytes: maxBytes) { bytes in
                    try bytes.withUnsafeBytes { try out.write($0) }
                    received.add(bytes.count)
                }
                try out.commit(sync: .none)
                let header = try BundleVerifier.readHeader(from: try FileSource(path: local)).header
                // Only the sender's own publish, under this bundle's name, makes it a bundle.
                guard followed.name == MailboxName.bundle(header.bundleID), header.sender == upload.uploader else {
                    unlink(local)
                    throw FollowFailure.abandoned("\(upload.name) by \(upload.uploader) was published as \(followed.name)")
                }
                growing.finish(length: followed.size)
            } catch {
                out.discard()
                growing.fail("\(error)")
                throw error
            }
        }
        return IncomingDownload(growing: growing, task: task, received: received)
    }

    /// Waits until `count` bytes have been written or the download has ended (either way).
    func available(_ count: UInt64) async {
        var seen = growing.progress
        while seen.written < count && seen.length == nil && seen.failure == nil {
            seen = await growing.next(after: seen)
        }
    }

    /// Waits for the whole copy: its file is then complete at its final path.
    func complete() async throws { try await task.value }
}
