import GatehouseSFTP
import Testing

@Suite("SFTP v3 codec")
struct SFTPCodecTests {
    static var attributes: SFTPAttributes {
        var a = SFTPAttributes(size: 1234, permissions: 0o100640)
        a.uid = 1000
        a.gid = 1000
        a.accessTime = 1_795_000_000
        a.modificationTime = 1_795_000_001
        a.extended = [("vendor@example.org", [1, 2])]
        return a
    }

    static let samples: [SFTPMessage] = [
        .initialise(version: 3, extensions: []),
        .version(3, extensions: [SFTPExtensionPair(name: SFTP.Extension.posixRename, data: Array("1".utf8)),
                                 SFTPExtensionPair(name: SFTP.Extension.limits, data: Array("1".utf8))]),
        .open(id: 1, path: "YOI123/.tmp-1.part", flags: [.write, .create, .exclusive], attributes: SFTPAttributes(permissions: 0o600)),
        .close(id: 2, handle: [0, 1, 2, 3]),
        .read(id: 3, handle: [9], offset: 1 << 40, length: 32_768),
        .write(id: 4, handle: [9], offset: 65_536, data: Array(repeating: 0xAB, count: 1000)),
        .lstat(id: 5, path: "a"), .fstat(id: 6, handle: [1]), .setstat(id: 7, path: "a", attributes: attributes),
        .fsetstat(id: 8, handle: [1], attributes: SFTPAttributes()), .opendir(id: 9, path: "YOI123"), .readdir(id: 10, handle: [2]),
        .remove(id: 11, path: "x.ghb"), .mkdir(id: 12, path: "d", attributes: SFTPAttributes(permissions: 0o700)), .rmdir(id: 13, path: "d"),
        .realpath(id: 14, path: "."), .stat(id: 15, path: "é.ghb"), .rename(id: 16, from: "a", to: "b"), .readlink(id: 17, path: "l"),
        .symlink(id: 18, linkPath: "l", targetPath: "t"),
        .status(id: 19, code: SFTP.StatusCode.permissionDenied.rawValue, message: "not your mailbox", language: ""),
        .handle(id: 20, handle: Array("h1".utf8)), .data(id: 21, data: [1, 2, 3]),
        .name(id: 22, entries: [SFTPName(filename: "a.ghb", longname: "-rw-r----- a.ghb", attributes: SFTPAttributes(size: 10)), SFTPName(filename: "b")]),
        .attrs(id: 23, attributes: attributes),
        SFTPExtendedRequest.posixRename(from: ".tmp", to: "final.ghb").message(id: 24),
        SFTPExtendedRequest.fsync(handle: [7]).message(id: 25),
        SFTPExtendedRequest.limits.message(id: 26),
        .extendedReply(id: 27, data: SFTPLimits(maxPacketLength: 262_144, maxReadLength: 261_120, maxWriteLength: 261_120, maxOpenHandles: 0).encoded()),
    ]

    @Test(arguments: samples)
    func roundTripFedByteByByte(message: SFTPMessage) throws {
        let bytes = message.encoded()
        var parser = SFTPPacketParser()
        for (i, byte) in bytes.enumerated() {
            parser.append([byte])
            let parsed = try parser.next()
            if i < bytes.count - 1 {
                #expect(parsed == nil, "complete after \(i + 1) of \(bytes.count) bytes")
            } else {
                #expect(parsed == message)
            }
        }
        #expect(parser.buffered == 0)
    }

    @Test func severalPacketsInOneRead() throws {
        var parser = SFTPPacketParser()
        parser.append(Self.samples.flatMap { $0.encoded() })
        var parsed: [SFTPMessage] = []
        while let m = try parser.next() { parsed.append(m) }
        #expect(parsed == Self.samples)
    }

    @Test func extensionsDecode() throws {
        #expect(try SFTPExtendedRequest.decode(name: SFTP.Extension.posixRename, data: { var w = [UInt8](); w += [0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x62]; return w }())
            == .posixRename(from: "a", to: "b"))
        #expect(try SFTPExtendedRequest.decode(name: SFTP.Extension.fsync, data: [0, 0, 0, 1, 7]) == .fsync(handle: [7]))
        #expect(try SFTPExtendedRequest.decode(name: SFTP.Extension.limits, data: []) == .limits)
        #expect(try SFTPExtendedRequest.decode(name: "statvfs@openssh.com", data: [1]) == .other(name: "statvfs@openssh.com"))
        #expect(throws: SFTPError.self) { try SFTPExtendedRequest.decode(name: SFTP.Extension.fsync, data: [0, 0, 0, 5, 7]) }
        #expect(throws: SFTPError.self) { try SFTPExtendedRequest.decode(name: SFTP.Extension.limits, data: [0]) }
        let limits = SFTPLimits(maxPacketLength: 1, maxReadLength: 2, maxWriteLength: 3, maxOpenHandles: 4)
        #expect(try SFTPLimits.decode(limits.encoded()) == limits)
        #expect(throws: SFTPError.self) { try SFTPLimits.decode(Array(limits.encoded().dropLast())) }
    }

    @Test func unknownTypesKeepTheirIdForAnOpUnsupportedReply() throws {
        var parser = SFTPPacketParser()
        parser.append([0, 0, 0, 9, 150, 0, 0, 0, 42, 1, 2, 3, 4])
        #expect(try parser.next() == .unknown(type: 150, id: 42))
    }

    @Test func boundsAndMalformedPackets() {
        func fails(_ bytes: [UInt8]) -> Bool {
            var parser = SFTPPacketParser()
            parser.append(bytes)
            do { _ = try parser.next(); return false } catch { return true }
        }
        #expect(fails([0, 0, 0, 0]), "zero length")
        #expect(fails([0, 0x04, 0, 1, 3]), "over 256 KiB: refused from the length alone, before buffering")
        #expect(fails([0xff, 0xff, 0xff, 0xff]))
        // A string claiming more bytes than the packet holds.
        #expect(fails([0, 0, 0, 9, 13, 0, 0, 0, 1, 0, 0, 0, 200]))
        // Trailing bytes after a complete CLOSE.
        #expect(fails([0, 0, 0, 11, 4, 0, 0, 0, 1, 0, 0, 0, 1, 7, 0]))
        // Unknown attribute flags.
        #expect(fails([0, 0, 0, 13, 105, 0, 0, 0, 1, 0, 0, 0x10, 0, 0, 0, 0, 0]))
        // A NAME claiming a million entries in a few bytes.
        #expect(fails([0, 0, 0, 9, 104, 0, 0, 0, 1, 0, 0x0f, 0x42, 0x40]))
        // A path that is not UTF-8.
        #expect(fails([0, 0, 0, 10, 13, 0, 0, 0, 1, 0, 0, 0, 1, 0xff]))
        // Every prefix of a valid packet asks for more, none throws.
        let bytes = SFTPMessage.open(id: 1, path: "p", flags: .read, attributes: SFTPAttributes()).encoded()
        for n in 0..<bytes.count {
            var parser = SFTPPacketParser()
            parser.append(bytes.prefix(n))
            #expect((try? parser.next()) == .some(nil))
        }
    }
}

@Suite("SFTP write packets built in place")
struct SFTPWritePacketTests {
    @Test(arguments: [0, 1, 32 * 1024, 255 * 1024])
    func inPlaceWritePacketsEqualTheEncodedMessage(count: Int) throws {
        let data = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let handle: [UInt8] = [0, 0, 0, 9]
        let packet = SFTPMessage.writePacket(id: 77, handle: handle, offset: 1 << 33, count: count) { $0.copyBytes(from: data) }
        #expect(packet == SFTPMessage.write(id: 77, handle: handle, offset: 1 << 33, data: data).encoded())
        var parser = SFTPPacketParser()
        packet.withUnsafeBytes { parser.append($0) }
        #expect(try parser.next() == .write(id: 77, handle: handle, offset: 1 << 33, data: data))
    }
}
