import Glibc
public import GatehouseFormat

/// A sink that checks a bundle's declared file table against the receiver's limits and the free
/// space where it will be written, before the first byte is written (FORMAT.md §3.11), then
/// passes everything on to `inner`.
///
/// The sizes are the ones the sender signed (the inner signature covers them, and inflation stops
/// at them), so a 2 MB bundle declaring 2 GiB is refused at its file table, not after filling the
/// disk.
public final class LimitedSink: OpenedFileSink {
    let inner: any OpenedFileSink
    let limits: ReceiveLimits
    /// A folder on the file system the files are written to, for the free-space check.
    let folder: String

    /// Checks for `limits` in front of `inner`, which writes under `folder`.
    public init(_ inner: any OpenedFileSink, limits: ReceiveLimits, folder: String) {
        self.inner = inner
        self.limits = limits
        self.folder = folder
    }

    public func fileTable(_ entries: [FileTableEntry]) throws {
        guard entries.count <= limits.filesMax else {
            throw FormatError.tooLarge("the bundle holds \(entries.count) files; this gateway accepts at most \(limits.filesMax) ([limits] files_max)")
        }
        // Each size is at most 2^64-1: add with overflow checks.
        var total: UInt64 = 0
        for entry in entries {
            let (sum, overflow) = total.addingReportingOverflow(entry.size)
            total = overflow ? .max : sum
        }
        guard total <= UInt64(max(0, limits.unpackedMaxBytes)) else {
            throw FormatError.tooLarge("its files declare \(total) bytes in all; this gateway accepts at most \(limits.unpackedMaxBytes) "
                                       + "([limits] unpacked_max_mb)")
        }
        var fs = statvfs()
        if statvfs(folder, &fs) == 0 {
            let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
            // The reserve, but never more than 1% of the file system: a small disk must still work.
            let reserve = min(UInt64(max(0, limits.freeSpaceReserve)), UInt64(fs.f_blocks) * UInt64(fs.f_frsize) / 100)
            let needed = total + reserve
            guard needed <= free else {
                // The sender did nothing wrong: this is the receiver's disk (KitError, not a refusal).
                throw KitError.io("\(total) bytes to write and \(reserve) to keep free, but only \(free) bytes are free at \(folder)",
                                  path: folder)
            }
        }
        try inner.fileTable(entries)
    }

    public func beginFile(_ entry: FileTableEntry, index: Int) throws { try inner.beginFile(entry, index: index) }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { try inner.write(bytes) }
    public func endFile() throws { try inner.endFile() }
}
