/// File attributes (draft-02 §5): every field optional, announced by flag bits.
public struct SFTPAttributes: Hashable, Sendable {
    /// SSH_FILEXFER_ATTR_SIZE.
    public static let sizeFlag: UInt32 = 0x0000_0001
    /// SSH_FILEXFER_ATTR_UIDGID.
    public static let uidGIDFlag: UInt32 = 0x0000_0002
    /// SSH_FILEXFER_ATTR_PERMISSIONS.
    public static let permissionsFlag: UInt32 = 0x0000_0004
    /// SSH_FILEXFER_ATTR_ACMODTIME.
    public static let timesFlag: UInt32 = 0x0000_0008
    /// SSH_FILEXFER_ATTR_EXTENDED.
    public static let extendedFlag: UInt32 = 0x8000_0000
    /// Most extended attribute pairs accepted.
    public static let maxExtended = 64

    /// Size in bytes.
    public var size: UInt64?
    /// Owner and group.
    public var uid: UInt32?
    /// Owner and group.
    public var gid: UInt32?
    /// POSIX mode bits, file type included.
    public var permissions: UInt32?
    /// Access and modification times, seconds since the epoch.
    public var accessTime: UInt32?
    /// Access and modification times, seconds since the epoch.
    public var modificationTime: UInt32?
    /// Vendor extensions.
    public var extended: [(String, [UInt8])] = []

    /// No attributes.
    public init(size: UInt64? = nil, permissions: UInt32? = nil) {
        self.size = size
        self.permissions = permissions
    }

    public static func == (a: SFTPAttributes, b: SFTPAttributes) -> Bool {
        a.size == b.size && a.uid == b.uid && a.gid == b.gid && a.permissions == b.permissions
            && a.accessTime == b.accessTime && a.modificationTime == b.modificationTime
            && a.extended.map(\.0) == b.extended.map(\.0) && a.extended.map(\.1) == b.extended.map(\.1)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(size)
        hasher.combine(permissions)
    }

    func encode(into w: inout SFTPWriter) {
        var flags: UInt32 = 0
        if size != nil { flags |= Self.sizeFlag }
        if uid != nil && gid != nil { flags |= Self.uidGIDFlag }
        if permissions != nil { flags |= Self.permissionsFlag }
        if accessTime != nil && modificationTime != nil { flags |= Self.timesFlag }
        if !extended.isEmpty { flags |= Self.extendedFlag }
        w.u32(flags)
        if let size { w.u64(size) }
        if let uid, let gid { w.u32(uid); w.u32(gid) }
        if let permissions { w.u32(permissions) }
        if let accessTime, let modificationTime { w.u32(accessTime); w.u32(modificationTime) }
        if !extended.isEmpty {
            w.u32(UInt32(extended.count))
            for (name, data) in extended { w.string(Array(name.utf8)); w.string(data) }
        }
    }

    static func decode(from r: inout SFTPReader) throws(SFTPError) -> SFTPAttributes {
        let flags = try r.u32("attribute flags")
        let known = sizeFlag | uidGIDFlag | permissionsFlag | timesFlag | extendedFlag
        guard flags & ~known == 0 else { throw .malformed("attribute flags 0x\(String(flags, radix: 16)) name unknown fields") }
        var a = SFTPAttributes()
        if flags & sizeFlag != 0 { a.size = try r.u64("size") }
        if flags & uidGIDFlag != 0 { a.uid = try r.u32("uid"); a.gid = try r.u32("gid") }
        if flags & permissionsFlag != 0 { a.permissions = try r.u32("permissions") }
        if flags & timesFlag != 0 { a.accessTime = try r.u32("atime"); a.modificationTime = try r.u32("mtime") }
        if flags & extendedFlag != 0 {
            let count = try r.u32("extended count")
            guard count <= maxExtended else { throw .malformed("\(count) extended attributes (at most \(maxExtended))") }
            for _ in 0..<count {
                a.extended.append((try r.text("extended name"), try r.string("extended data")))
            }
        }
        return a
    }
}
