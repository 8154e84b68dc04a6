import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import GatehouseTesting
import Testing

@testable import GatehouseRelay

/// Names, paths and settings on the relay are read by their bytes, never by Characters (grapheme
/// clusters): a dot, a quote, a colon or a space followed by a combining mark is one Character
/// that is not the dot, quote, colon or space (issue 13).
@Suite("the relay reads names, paths and settings by their bytes")
struct ByteTextTests {
    /// Every name a listing of `org`'s mailbox returns, over all READDIR pages.
    func listing(_ session: MailboxSession, _ org: String) throws -> [String] {
        guard case .handle(_, let handle) = session.request({ .opendir(id: $0, path: "/\(org)") }) else {
            throw POSIXError(.EIO)
        }
        var names: [String] = []
        while case .name(_, let entries) = session.request({ .readdir(id: $0, handle: handle) }) {
            names += entries.map(\.filename)
        }
        _ = session.close(handle)
        return names
    }

    /// `.\u{301}x.ghb` is a dot-name (a transfer in progress) by its first byte; as a Character
    /// it is not ".", so the owner was shown it, and woken for it, while the insider still wrote.
    @Test func anUploadUnderADotAndACombiningMarkIsNeitherListedNorNewMail() throws {
        let relay = try RelayFixture()
        let owner = try relay.session("A81001")
        #expect(try listing(owner, "A81001").isEmpty)
        let insider = try relay.session("B82002")
        let upload = try #require(insider.create("/A81001/.\u{301}x.ghb").handle)
        #expect(insider.write(upload, Array("half a bundle".utf8)).isOK)
        #expect(relay.names("A81001").count == 1)
        // A wait of no time at all: OK only if there is a name the last listing did not return.
        let wait = owner.request {
            SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: 0).message(id: $0)
        }
        #expect(wait.statusCode?.code == .eof, "\(wait)")
        #expect(try listing(owner, "A81001").isEmpty)
        #expect(MailboxPath("/A81001/.\u{301}x.ghb")?.isTemporary == true)
        #expect(MailboxPath("/A81001/\u{301}x.ghb")?.isTemporary == false)
    }

    @Test func listenAddressesAreSplitOnBytes() throws {
        // The colon and the mark are one Character: a Character parser dropped both and read port 2222.
        for bad in ["[::1]:\u{301}2222", "[::1]x2222", "127.0.0.1:\u{301}22", "127.0.0.1:+22", "relay:"] {
            #expect(throws: KitError.self, "\(bad.debugDescription)") {
                try RelaySettings(listen: bad, user: "gatehouse")
            }
        }
        let v6 = try RelaySettings(listen: "[::1]:2222", publicAddress: "relay.example.org:22", user: "gatehouse")
        #expect(v6.listenHost == "::1" && v6.listenPort == 2222)
        #expect(v6.publicHost == "relay.example.org" && v6.publicPort == 22)
        #expect(v6.text.contains("listen = \"[::1]:2222\"\n"))
        #expect(try RelaySettings.parse(v6.text, file: "relay.toml") == v6)
    }

    /// A quote or a line break in a path written into `authorized_keys` ends the quoting or the
    /// line; as Characters, `'\u{301}` is not `'` and `\r\n` is not `\n`, so both went through.
    @Test func aPathThatWouldBreakOutOfAuthorizedKeysIsRefusedByItsBytes() throws {
        let folder = try TemporaryDirectory(prefix: "gatehouse-relay")
        let unsafe = Relay(path: folder.appending("it'\u{301}s"))
        _ = try unsafe.initialise(RelaySettings(listen: "127.0.0.1:2222"))
        let quoted = #expect(throws: KitError.self) { try unsafe.authorizedKeys(gatehouse: "/usr/bin/gatehouse") }
        #expect(quoted?.category == .invalidInput)
        let expected = "\"\(folder.path)/it'\u{301}s/mailboxes\" contains a quote"
        #expect(quoted?.message.hasPrefix(expected) == true, "\(quoted?.message ?? "")")
        let relay = Relay(path: folder.appending("relay"))
        _ = try relay.initialise(RelaySettings(listen: "127.0.0.1:2222"))
        #expect(try relay.authorizedKeys(gatehouse: "/usr/bin/gatehouse").isEmpty)
        let unsafePrograms = ["/opt/gatehouse\r\nssh-ed25519 AAAA", "/opt/gate'\u{301}house", "/opt/gate\\house", "/opt/gate\u{7F}"]
        for gatehouse in unsafePrograms {
            let error = #expect(throws: KitError.self) { try relay.authorizedKeys(gatehouse: gatehouse) }
            #expect(error?.category == .invalidInput, "\(gatehouse.debugDescription)")
            #expect(error.map { !$0.message.unicodeScalars.contains { $0.value < 0x20 } } == true)
        }
    }

    /// The comment of `ssh_host_ed25519_key.pub` is the operator's; one starting with a combining
    /// mark joined the key as a Character and the relay's own key could not be read.
    @Test func theHostKeyIsReadWhateverItsCommentStartsWith() throws {
        let folder = try TemporaryDirectory(prefix: "gatehouse-relay")
        let relay = Relay(path: folder.appending("relay"))
        _ = try relay.initialise(RelaySettings(listen: "127.0.0.1:2222"))
        let key = try relay.hostKey()
        let line = try String(contentsOfFile: relay.hostKeyPath + ".pub", encoding: .utf8)
        let words = line.split(separator: " ", maxSplits: 2)
        let edited = "\(words[0]) \(words[1]) \u{301}relay of the north\n"
        try edited.write(toFile: relay.hostKeyPath + ".pub", atomically: true, encoding: .utf8)
        #expect(try relay.hostKey() == key)
    }
}
