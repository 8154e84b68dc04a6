extension SFTPMessage {
    /// The packet: uint32 length, byte type, then the fields (draft-02 §3).
    public func encoded() -> [UInt8] {
        var w = SFTPWriter()
        w.u32(0)  // length, filled in below
        switch self {
        case .initialise(let version, let extensions):
            w.u8(SFTP.PacketType.initialise.rawValue); w.u32(version)
            for pair in extensions { w.text(pair.name); w.string(pair.data) }
        case .version(let version, let extensions):
            w.u8(SFTP.PacketType.version.rawValue); w.u32(version)
            for pair in extensions { w.text(pair.name); w.string(pair.data) }
        case .open(let id, let path, let flags, let attributes):
            header(&w, .open, id); w.text(path); w.u32(flags.rawValue); attributes.encode(into: &w)
        case .close(let id, let handle): header(&w, .close, id); w.string(handle)
        case .read(let id, let handle, let offset, let length): header(&w, .read, id); w.string(handle); w.u64(offset); w.u32(length)
        case .write(let id, let handle, let offset, let data): header(&w, .write, id); w.string(handle); w.u64(offset); w.string(data)
        case .lstat(let id, let path): header(&w, .lstat, id); w.text(path)
        case .fstat(let id, let handle): header(&w, .fstat, id); w.string(handle)
        case .setstat(let id, let path, let attributes): header(&w, .setstat, id); w.text(path); attributes.encode(into: &w)
        case .fsetstat(let id, let handle, let attributes): header(&w, .fsetstat, id); w.string(handle); attributes.encode(into: &w)
        case .opendir(let id, let path): header(&w, .opendir, id); w.text(path)
        case .readdir(let id, let handle): header(&w, .readdir, id); w.string(handle)
        case .remove(let id, let path): header(&w, .remove, id); w.text(path)
        case .mkdir(let id, let path, let attributes): header(&w, .mkdir, id); w.text(path); attributes.encode(into: &w)
        case .rmdir(let id, let path): header(&w, .rmdir, id); w.text(path)
        case .realpath(let id, let path): header(&w, .realpath, id); w.text(path)
        case .stat(let id, let path): header(&w, .stat, id); w.text(path)
        case .rename(let id, let from, let to): header(&w, .rename, id); w.text(from); w.text(to)
        case .readlink(let id, let path): header(&w, .readlink, id); w.text(path)
        case .symlink(let id, let linkPath, let targetPath): header(&w, .symlink, id); w.text(linkPath); w.text(targetPath)
        case .status(let id, let code, let message, let language): header(&w, .status, id); w.u32(code); w.text(message); w.text(language)
        case .handle(let id, let handle): header(&w, .handle, id); w.string(handle)
        case .data(let id, let data): header(&w, .data, id); w.string(data)
        case .name(let id, let entries):
            header(&w, .name, id); w.u32(UInt32(entries.count))
            for entry in entries { w.text(entry.filename); w.text(entry.longname); entry.attributes.encode(into: &w) }
        case .attrs(let id, let attributes): header(&w, .attrs, id); attributes.encode(into: &w)
        case .extended(let id, let name, let data): header(&w, .extended, id); w.text(name); w.bytes += data
        case .extendedReply(let id, let data): header(&w, .extendedReply, id); w.bytes += data
        case .unknown(let type, let id): w.u8(type); if let id { w.u32(id) }
        }
        let length = UInt32(w.bytes.count - 4)
        w.bytes[0] = UInt8(length >> 24); w.bytes[1] = UInt8(length >> 16 & 0xff)
        w.bytes[2] = UInt8(length >> 8 & 0xff); w.bytes[3] = UInt8(length & 0xff)
        return w.bytes
    }

    private func header(_ w: inout SFTPWriter, _ type: SFTP.PacketType, _ id: UInt32) {
        w.u8(type.rawValue)
        w.u32(id)
    }

    /// Decodes one packet body (type byte and fields, without the length).
    static func decode(_ body: ArraySlice<UInt8>) throws(SFTPError) -> SFTPMessage {
        var r = SFTPReader(body)
        let typeByte = try r.u8("the packet type")
        guard let type = SFTP.PacketType(rawValue: typeByte) else {
            // Unknown requests still carry an id first: answer them with OP_UNSUPPORTED.
            return .unknown(type: typeByte, id: r.remaining >= 4 ? try r.u32("the id") : nil)
        }
        let what = "SSH_FXP_\(type)".uppercased()
        if type == .initialise || type == .version {
            let version = try r.u32("the version")
            var extensions: [SFTPExtensionPair] = []
            while r.remaining > 0 {
                guard extensions.count < 64 else { throw .malformed("\(what) lists more than 64 extensions") }
                extensions.append(SFTPExtensionPair(name: try r.text("an extension name"), data: try r.string("extension data")))
            }
            return type == .initialise ? .initialise(version: version, extensions: extensions) : .version(version, extensions: extensions)
        }
        let id = try r.u32("the request id")
        let message: SFTPMessage
        switch type {
        case .initialise, .version: fatalError("handled above")
        case .open:
            let path = try r.text("the path")
            let flags = SFTP.OpenFlags(rawValue: try r.u32("pflags"))
            message = .open(id: id, path: path, flags: flags, attributes: try SFTPAttributes.decode(from: &r))
        case .close: message = .close(id: id, handle: try r.string("the handle"))
        case .read: message = .read(id: id, handle: try r.string("the handle"), offset: try r.u64("the offset"), length: try r.u32("the length"))
        case .write: message = .write(id: id, handle: try r.string("the handle"), offset: try r.u64("the offset"), data: try r.string("the data"))
        case .lstat: message = .lstat(id: id, path: try r.text("the path"))
        case .fstat: message = .fstat(id: id, handle: try r.string("the handle"))
        case .setstat: message = .setstat(id: id, path: try r.text("the path"), attributes: try SFTPAttributes.decode(from: &r))
        case .fsetstat: message = .fsetstat(id: id, handle: try r.string("the handle"), attributes: try SFTPAttributes.decode(from: &r))
        case .opendir: message = .opendir(id: id, path: try r.text("the path"))
        case .readdir: message = .readdir(id: id, handle: try r.string("the handle"))
        case .remove: message = .remove(id: id, path: try r.text("the path"))
        case .mkdir: message = .mkdir(id: id, path: try r.text("the path"), attributes: try SFTPAttributes.decode(from: &r))
        case .rmdir: message = .rmdir(id: id, path: try r.text("the path"))
        case .realpath: message = .realpath(id: id, path: try r.text("the path"))
        case .stat: message = .stat(id: id, path: try r.text("the path"))
        case .rename: message = .rename(id: id, from: try r.text("the old path"), to: try r.text("the new path"))
        case .readlink: message = .readlink(id: id, path: try r.text("the path"))
        case .symlink: message = .symlink(id: id, linkPath: try r.text("the link path"), targetPath: try r.text("the target path"))
        case .status:
            // draft-02 §7: code, message and language tag, all required (OpenSSH always sends them).
            message = .status(id: id, code: try r.u32("the status code"), message: try r.text("the message"),
                               language: try r.text("the language tag"))
        case .handle: message = .handle(id: id, handle: try r.string("the handle"))
        case .data: message = .data(id: id, data: try r.string("the data"))
        case .name:
            let count = try r.u32("the name count")
            // Each entry takes at least 12 bytes: a count beyond what fits is a lie.
            guard Int(count) <= r.remaining / 12 else { throw .malformed("\(what) claims \(count) names in \(r.remaining) bytes") }
            var entries: [SFTPName] = []
            for _ in 0..<count {
                entries.append(SFTPName(filename: try r.text("a file name"), longname: try r.text("a long name"),
                                        attributes: try SFTPAttributes.decode(from: &r)))
            }
            message = .name(id: id, entries: entries)
        case .attrs: message = .attrs(id: id, attributes: try SFTPAttributes.decode(from: &r))
        case .extended: message = .extended(id: id, name: try r.text("the extension name"), data: r.rest())
        case .extendedReply: message = .extendedReply(id: id, data: r.rest())
        }
        try r.finish(what)
        return message
    }
}

extension SFTPMessage {
    /// The encoded SSH_FXP_WRITE packet for `count` bytes of data that `fill` writes straight
    /// into the packet: the same bytes as `.write(…).encoded()`, without copying the data
    /// through an intermediate array (uploads send gigabytes this way).
    public static func writePacket(id: UInt32, handle: [UInt8], offset: UInt64, count: Int,
                                   fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows -> [UInt8] {
        var w = SFTPWriter()
        w.u32(0)
        w.u8(SFTP.PacketType.write.rawValue)
        w.u32(id)
        w.string(handle)
        w.u64(offset)
        w.u32(UInt32(count))
        var header = w.bytes
        let total = header.count + count
        let length = UInt32(total - 4)
        for i in 0..<4 { header[i] = UInt8(truncatingIfNeeded: length >> (24 - 8 * UInt32(i))) }
        // One allocation, no zero-filling: the header is copied in and `fill` writes the data.
        let packet = try [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
            initialized = 0
            _ = buffer.initialize(from: header)
            try fill(UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[header.count...])))
            initialized = total
        }
        return packet
    }
}
