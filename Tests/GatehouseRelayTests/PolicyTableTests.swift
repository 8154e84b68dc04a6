import GatehouseSFTP
import Testing

@testable import GatehouseRelay

/// Every cell of ``MailboxPolicy``'s table, request × scope, is what the server does: each is
/// sent by an A81001 session, over its own mailbox, YOI123's, or an upload it made in YOI123's.
@Suite("the policy table")
struct PolicyTableTests {
    @Test func oneRowPerRequest() {
        #expect(MailboxPolicy.rules.count == MailboxRequest.allCases.count)
        #expect(Set(MailboxPolicy.rules.map(\.request)) == Set(MailboxRequest.allCases))
    }

    @Test(arguments: MailboxRequest.allCases)
    func everyCellIsWhatTheServerDoes(request: MailboxRequest) throws {
        for scope in MailboxScope.allCases {
            let relay = try RelayFixture(orgs: ["A81001", "YOI123"])
            try relay.place("A81001/in.ghb", "own mail")
            try relay.place("YOI123/secret.ghb", "YOI123's mail")
            let cell = try Cell(
                session: relay.session("A81001"), scope: scope,
                sender: scope == .arriving ? relay.session("YOI123") : nil)
            let reply = try cell.reply(to: request)
            let place = "\(request.rawValue) on \(scope.rawValue): \(reply)"
            switch MailboxPolicy.decision(request, in: scope) {
            case .allowed:
                #expect(!reply.isRefusal, "allowed by the table but refused: \(place)")
                #expect(reply.statusCode?.code != .failure, "allowed by the table but failed: \(place)")
            case .refused(let why) where cell.isHandleRequest(request) && scope == .other:
                // No handle of a session is ever in another's mailbox: any handle is unknown there.
                #expect(reply.statusCode?.message == "not an open handle", "\(why): \(place)")
            case .refused(let why):
                #expect(reply.isRefusal, "refused by the table but allowed: \(place)")
                #expect(
                    reply.statusCode?.message == (scope == .other ? MailboxPolicy.otherMailboxRefusal : why), "\(place)"
                )
            }
        }
    }
}

/// One scope's paths and handles for one session, made as a request needs them.
struct Cell {
    let session: MailboxSession
    let scope: MailboxScope
    /// For the arriving scope: YOI123's session, uploading into A81001's mailbox.
    var sender: MailboxSession? = nil

    var folder: String { scope == .own || scope == .arriving ? "/A81001" : "/YOI123" }

    func isHandleRequest(_ request: MailboxRequest) -> Bool {
        [.read, .write, .fstat, .fsync, .close, .readdir, .fsetstat, .uploadState].contains(request)
    }

    /// A file in the scope: own mail, another's mail, an upload this session made (closed
    /// unless `open`), or YOI123's upload in progress in A81001's mailbox.
    func file(open: Bool = false) throws -> String {
        switch scope {
        case .arriving:
            let sender = try #require(sender)
            let handle = try #require(sender.create("/A81001/.arriving.part").handle)
            #expect(sender.write(handle, Array("half".utf8)).isOK)
            return "/A81001/.arriving.part"
        case .own: return "/A81001/in.ghb"
        case .other: return "/YOI123/secret.ghb"
        case .upload:
            let handle = try #require(session.create("/YOI123/.up.part").handle)
            #expect(session.write(handle, Array("half".utf8)).isOK)
            if !open { #expect(session.close(handle).isOK) }
            return "/YOI123/.up.part"
        }
    }

    /// A handle in the scope: in the own mailbox a folder, reading or upload handle as asked;
    /// this session's upload's; none can be in another's (an unknown one).
    func handle(_ kind: MailboxRequest) throws -> [UInt8] {
        switch scope {
        case .other: return [0, 0, 0, 99]
        case .upload: return try #require(session.create("/YOI123/.up.part").handle)
        case .arriving:
            let path = try file()
            guard case .handle(_, let handle) = session.request({
                .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes())
            }) else { throw Unexpected() }
            return handle
        case .own where kind == .readdir:
            guard case .handle(_, let handle) = session.request({ .opendir(id: $0, path: "/A81001") }) else {
                throw Unexpected()
            }
            return handle
        case .own where kind == .read:
            let reply = session.request {
                .open(id: $0, path: "/A81001/in.ghb", flags: .read, attributes: SFTPAttributes())
            }
            guard case .handle(_, let handle) = reply else { throw Unexpected() }
            return handle
        case .own: return try #require(session.create("/A81001/.mine.part").handle)
        }
    }

    struct Unexpected: Error {}

    func reply(to request: MailboxRequest) throws -> SFTPMessage {
        let s = session
        switch request {
        case .realpath:
            let path = try file()
            return s.request { .realpath(id: $0, path: path) }
        case .limits: return s.request { SFTPExtendedRequest.limits.message(id: $0) }
        case .openRead:
            let path = try file()
            return s.request { .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes()) }
        case .openCreate:
            let path = scope == .upload ? try file(open: true) : "\(folder)/.new.part"
            return s.create(path).reply
        case .read:
            let h = try handle(.read)
            return s.request { .read(id: $0, handle: h, offset: 0, length: 100) }
        case .write:
            let h = try handle(.write)
            return s.write(h, Array("more".utf8))
        case .fstat:
            let h = try handle(.fstat)
            return s.request { .fstat(id: $0, handle: h) }
        case .fsync:
            let h = try handle(.fsync)
            return s.request { SFTPExtendedRequest.fsync(handle: h).message(id: $0) }
        case .close:
            let h = try handle(.close)
            return s.close(h)
        case .readdir:
            let h = try handle(.readdir)
            return s.request { .readdir(id: $0, handle: h) }
        case .fsetstat:
            let h = try handle(.fsetstat)
            return s.request { .fsetstat(id: $0, handle: h, attributes: SFTPAttributes(size: 0)) }
        case .stat:
            let path = try file()
            return s.request { .stat(id: $0, path: path) }
        case .remove:
            let path = try file()
            return s.request { .remove(id: $0, path: path) }
        case .opendir:
            let path = scope == .upload || scope == .arriving ? try file() : folder
            return s.request { .opendir(id: $0, path: path) }
        case .mailboxWait:
            let path = scope == .upload || scope == .arriving ? try file() : folder
            return s.request { SFTPExtendedRequest.mailboxWait(path: path, timeoutMilliseconds: 0).message(id: $0) }
        case .mailboxUploads:
            let path = scope == .upload || scope == .arriving ? try file() : folder
            return s.request { SFTPExtendedRequest.mailboxUploads(path: path).message(id: $0) }
        case .uploadState:
            let h = try handle(.uploadState)
            return s.request { SFTPExtendedRequest.uploadState(handle: h).message(id: $0) }
        case .publish:
            let from: String
            if scope == .own {
                let handle = try #require(s.create("/A81001/.mine.part").handle)
                #expect(s.close(handle).isOK)
                from = "/A81001/.mine.part"
            } else {
                from = try file()
            }
            return s.publish(from, "\(folder)/\(bundleName())")
        case .rename:
            let path = try file()
            return s.request { .rename(id: $0, from: path, to: "\(folder)/renamed.ghb") }
        case .setstat:
            let path = try file()
            return s.request { .setstat(id: $0, path: path, attributes: SFTPAttributes(size: 0)) }
        case .mkdir:
            let path = scope == .upload || scope == .arriving ? try file() : "\(folder)/sub"
            return s.request { .mkdir(id: $0, path: path, attributes: SFTPAttributes()) }
        case .rmdir:
            let path = try file()
            return s.request { .rmdir(id: $0, path: path) }
        case .readlink:
            let path = try file()
            return s.request { .readlink(id: $0, path: path) }
        case .symlink:
            let path = try file()
            return s.request { .symlink(id: $0, linkPath: path, targetPath: "\(folder)/target") }
        }
    }
}
