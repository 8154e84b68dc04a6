import GatehouseSFTP
import Testing

/// The fields of Gatehouse's own extensions and their replies: round trips, and strict refusals
/// of everything else (the relay and the client parse what the other side sent).
@Suite("mailbox extensions codec")
struct SFTPMailboxExtensionTests {
    static let requests: [SFTPExtendedRequest] = [
        .mailboxWait(path: "/A81001", timeoutMilliseconds: 15_000),
        .mailboxWait(path: "/A81001", timeoutMilliseconds: 0, flags: .uploads),
        .mailboxUploads(path: "/A81001"),
        .uploadState(handle: [0, 0, 0, 4]),
        .uploadState(handle: [0, 0, 0, 4], whileSize: 1 << 33, timeoutMilliseconds: 10_000),
    ]

    @Test(arguments: requests)
    func requestsRoundTrip(request: SFTPExtendedRequest) throws {
        guard case .extended(9, let name, let data) = request.message(id: 9) else {
            Issue.record("not an extended request")
            return
        }
        #expect(try SFTPExtendedRequest.decode(name: name, data: data) == request)
        // Any byte more is an error, never ignored.
        #expect(throws: SFTPError.self) { try SFTPExtendedRequest.decode(name: name, data: data + [0, 0, 0, 0, 0]) }
    }

    @Test func aWaitWithoutFlagsIsTheRequestOfOldClientsAndFlagsAreChecked() throws {
        let old: [UInt8] = [0, 0, 0, 7] + Array("/A81001".utf8) + [0, 0, 0x3A, 0x98]
        #expect(
            SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: 15_000).message(id: 1)
                == .extended(id: 1, name: SFTP.Extension.mailboxWait, data: old))
        #expect(
            try SFTPExtendedRequest.decode(name: SFTP.Extension.mailboxWait, data: old)
                == .mailboxWait(path: "/A81001", timeoutMilliseconds: 15_000, flags: []))
        #expect(throws: SFTPError.self) {
            try SFTPExtendedRequest.decode(name: SFTP.Extension.mailboxWait, data: old + [0, 0, 0, 2])
        }
        #expect(throws: SFTPError.self) {
            try SFTPExtendedRequest.decode(name: SFTP.Extension.mailboxWait, data: old + [0, 0])
        }
        // A size without its timeout is cut short.
        #expect(throws: SFTPError.self) {
            try SFTPExtendedRequest.decode(
                name: SFTP.Extension.uploadState, data: [0, 0, 0, 1, 7] + [0, 0, 0, 0, 0, 0, 0, 9])
        }
    }

    @Test func uploadListingsRoundTripAndLiesAreRefused() throws {
        let uploads = [
            SFTPMailboxUpload(name: ".a.part", uploader: "YOI123", size: 0),
            SFTPMailboxUpload(name: ".é.part", uploader: "B82002", size: 1 << 40),
        ]
        let data = SFTPMailboxUploads.encoded(uploads)
        #expect(try SFTPMailboxUploads.decode(data) == uploads)
        #expect(try SFTPMailboxUploads.decode(SFTPMailboxUploads.encoded([])) == [])
        for cut in 0..<data.count {
            #expect(throws: SFTPError.self) { try SFTPMailboxUploads.decode(Array(data[..<cut])) }
        }
        #expect(throws: SFTPError.self) { try SFTPMailboxUploads.decode(data + [0]) }
        // A count far beyond what the bytes hold.
        #expect(throws: SFTPError.self) { try SFTPMailboxUploads.decode([0xFF, 0xFF, 0xFF, 0xFF] + data.dropFirst(4)) }
    }

    static let states: [SFTPUploadState] = [
        SFTPUploadState(.inProgress, size: 5),
        SFTPUploadState(.published(name: "0123.ghb"), size: 1 << 30),
        SFTPUploadState(.abandoned, size: 0, rewritten: true),
    ]

    @Test(arguments: states)
    func statesRoundTrip(state: SFTPUploadState) throws {
        let data = state.encoded()
        #expect(try SFTPUploadState.decode(data) == state)
        for cut in 0..<data.count {
            #expect(throws: SFTPError.self) { try SFTPUploadState.decode(Array(data[..<cut])) }
        }
        #expect(throws: SFTPError.self) { try SFTPUploadState.decode(data + [0]) }
    }

    @Test func aStateIsParsedStrictly() {
        func reply(_ state: UInt8, name: String, flags: UInt32 = 0) -> [UInt8] {
            [state] + [UInt8](repeating: 0, count: 7) + [4] + [0, 0, 0, UInt8(name.utf8.count)] + Array(name.utf8)
                + [0, 0, 0, UInt8(flags)]
        }
        #expect(
            (try? SFTPUploadState.decode(reply(2, name: "x.ghb")))
                == SFTPUploadState(.published(name: "x.ghb"), size: 4))
        for (what, bad) in [
            ("published without a name", reply(2, name: "")),
            ("in progress with a name", reply(1, name: "x.ghb")),
            ("abandoned with a name", reply(3, name: "x.ghb")),
            ("an unknown state", reply(4, name: "")),
            ("state zero", reply(0, name: "")),
            ("an unknown flag", reply(1, name: "", flags: 2)),
        ] {
            #expect(throws: SFTPError.self, "\(what)") { try SFTPUploadState.decode(bad) }
        }
    }
}
