import Foundation
import GatehouseKit
import GatehouseTesting
import Testing

/// The national directory through the built binary (docs/DIRECTORY.md): an authority admits a
/// practice and a prison that never exchanged cards, publishes, and both exchange a bundle.
@Suite("gatehouse network (end to end)")
struct NetworkDirectoryTests {
    let folder: TemporaryDirectory
    let authority: String, practice: String, prison: String, outsider: String, served: String

    init() throws {
        folder = try TemporaryDirectory()
        authority = folder.appending("authority")
        practice = folder.appending("practice")
        prison = folder.appending("prison")
        outsider = folder.appending("outsider")
        served = folder.appending("relay-directory")
        for (home, org, name) in [
            (practice, "A81001", "Riverside Medical Practice"), (prison, "YOI123", "HMP Northgate Healthcare"),
            (outsider, "XHM01", "Elsewhere Health"),
        ] {
            try expectSuccess(["init", "--home", home, "--org", org, "--name", name])
        }
        try expectSuccess(["network", "init", "--home", authority, "--name", "directory.nhs.example/test"])
    }

    @discardableResult
    func expectSuccess(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessOutput
    {
        let result = try GatehouseProcess.run(arguments)
        #expect(
            result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    func admit(_ home: String) throws {
        let card = folder.appending("card-\(UUID().uuidString)")
        try expectSuccess(["identity", "export", "--home", home, "-o", card])
        try expectSuccess(["network", "admit", "--home", authority, card, "--yes"])
    }

    func join(_ home: String) throws {
        let card = folder.appending("network-\(UUID().uuidString)")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", card])
        try expectSuccess(["network", "join", "--home", home, card, "--yes"])
    }

    /// Publishes what was admitted to `served`; `home` joins the network and syncs from there.
    func publishAndSync(_ home: String) throws {
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        try join(home)
        try expectSuccess(["network", "sync", "--home", home, "--from", served])
    }

    @Test func twoOrganisationsThatNeverExchangedCardsExchangeABundle() throws {
        try admit(practice)
        try admit(prison)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        for home in [practice, prison] {
            try join(home)
            #expect(
                try expectSuccess(["network", "sync", "--home", home, "--from", served]).stdout.contains(
                    "Verified 2 new entries"))
        }
        let listed = try expectSuccess(["partners", "list", "--home", practice]).stdout
        #expect(listed.contains("YOI123") && listed.contains("directory entry 1"), "\(listed)")
        let json = try expectSuccess(["partners", "list", "--home", practice, "--json"]).stdout
        #expect(json.contains("\"source\" : \"directory\"") && json.contains("\"directory_entry\" : 1"), "\(json)")

        let record = try folder.write("summary.txt", Array("Medication: none known".utf8))
        let bundle = folder.appending("bundle.ghb")
        try expectSuccess(["seal", "--home", practice, "--to", "YOI123", "-o", bundle, record])
        let out = folder.appending("opened")
        try expectSuccess(["open", "--home", prison, bundle, "-o", out])
        #expect(FileManager.default.contents(atPath: out + "/summary.txt") == Data("Medication: none known".utf8))

        // The outsider is in no network: it cannot seal to the prison without a pinned card.
        #expect(
            try GatehouseProcess.run(["seal", "--home", outsider, "--to", "YOI123", "-o", bundle + "2", record]).status
                == 11)

        // Revoked and published: the prison no longer accepts the practice's bundles.
        try expectSuccess(["network", "revoke", "--home", authority, "A81001", "--reason", "test of revocation"])
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])
        let refused = try GatehouseProcess.run([
            "open", "--home", prison, bundle, "-o", folder.appending("opened-again"),
        ])
        #expect(refused.status == 4, "\(refused.stderr)")
        let shown = try expectSuccess(["network", "show", "--home", authority]).stdout
        #expect(shown.contains("A81001\tentry 0\trevoked (test of revocation)"), "\(shown)")
    }

    @Test func aForkedLogIsRefusedAndKeptAsEvidence() throws {
        try admit(practice)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        try join(prison)
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])

        // The authority's key signs another history: a fresh log whose entry 0 is another card.
        let forked = folder.appending("forked")
        try FileManager.default.copyItem(atPath: authority, toPath: forked)
        try FileManager.default.removeItem(atPath: forked + "/network/log")
        try admit(outsider)  // staged in the real authority; the fork gets it first
        try FileManager.default.copyItem(
            atPath: authority + "/network/pending", toPath: forked + "/network/pending-new")
        try FileManager.default.removeItem(atPath: forked + "/network/pending")
        try FileManager.default.moveItem(atPath: forked + "/network/pending-new", toPath: forked + "/network/pending")
        let lying = folder.appending("lying-directory")
        try expectSuccess(["network", "publish", "--home", forked, "--to", lying])
        let result = try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", lying])
        #expect(result.status == 8, "\(result.stderr)")
        #expect(result.stderr.contains("directory fork"), "\(result.stderr)")
        let evidence = try FileManager.default.contentsOfDirectory(atPath: prison + "/directory/evidence")
        #expect(
            evidence.contains { $0.hasSuffix("-fork.checkpoint") }
                && evidence.contains { $0.hasSuffix("-trusted.checkpoint") })
        // Proof that the authority signed two histories: nothing new it signs is trusted, not even
        // the log the prison followed so far, until a person has dealt with the evidence.
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        let halted = try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", served])
        #expect(halted.status == 8 && halted.stderr.contains("directory halted"), "\(halted.stderr)")
        #expect(try expectSuccess(["network", "show", "--home", prison]).stdout.contains("entries:        1"))
        try FileManager.default.moveItem(atPath: prison + "/directory/evidence", toPath: folder.appending("dealt-with"))
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])
    }
}

extension NetworkDirectoryTests {
    @Test func anEntryForTheGatewaysOwnODSWithAnotherRootIsAProblemAtOnce() throws {
        try admit(practice)
        try publishAndSync(practice)
        let healthy = try GatehouseProcess.run(["doctor", "--home", practice])
        #expect(
            healthy.stdout.contains("OK") && healthy.stdout.contains("A81001 is listed at entry 0"), "\(healthy.stdout)"
        )

        // An impostor with the practice's ODS code, admitted by a careless authority.
        let impostor = folder.appending("impostor")
        try expectSuccess(["init", "--home", impostor, "--org", "A81001", "--name", "Riverside Medical Practice"])
        let card = folder.appending("impostor.card")
        try expectSuccess(["identity", "export", "--home", impostor, "-o", card])
        try expectSuccess(["network", "admit", "--home", authority, card, "--yes", "--replace"])
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        let sync = try GatehouseProcess.run(["network", "sync", "--home", practice, "--from", served])
        #expect(sync.status == 8 && sync.stderr.contains("A81001 at entry 1 with another root key"), "\(sync.stderr)")
        let doctor = try GatehouseProcess.run(["doctor", "--home", practice])
        #expect(
            doctor.status == 16 && doctor.stdout.contains("PROBLEM") && doctor.stdout.contains("with another root key"),
            "\(doctor.stdout)")
    }
}

extension NetworkDirectoryTests {
    @Test func theNetworksRootKeyCanBeKeptOfflineUnderAPassphrase() throws {
        try admit(practice)
        let passphrase = try folder.write("passphrase", Array("correct horse battery staple\n".utf8))
        let offline = folder.appending("network-root.key")
        try expectSuccess([
            "network", "protect-root", "--home", authority, "--out", offline, "--passphrase-file", passphrase,
        ])
        #expect(!FileManager.default.fileExists(atPath: authority + "/network/root.key"))
        let withoutKey = try GatehouseProcess.run(["network", "publish", "--home", authority])
        #expect(withoutKey.status == 10, "\(withoutKey.stderr)")
        let wrong = try folder.write("wrong", Array("not the passphrase at all\n".utf8))
        #expect(
            try GatehouseProcess.run([
                "network", "publish", "--home", authority, "--root-key", offline,
                "--passphrase-file", wrong,
            ]).status == 10)
        try expectSuccess([
            "network", "publish", "--home", authority, "--root-key", offline, "--passphrase-file", passphrase,
        ])
        #expect(try expectSuccess(["network", "show", "--home", authority]).stdout.contains("entries:        1"))
    }
}

extension NetworkDirectoryTests {
    @Test func theRunningGatewayFollowsTheDirectoryByItself() throws {
        let mailboxes = folder.appending("mailboxes")
        try FileManager.default.createDirectory(atPath: mailboxes + "/YOI123", withIntermediateDirectories: true)
        let prisonOnDisk = folder.appending("prison-dir")
        try expectSuccess([
            "init", "--home", prisonOnDisk, "--org", "YOI123", "--name", "HMP Northgate Healthcare",
            "--mailbox", "dir:" + mailboxes,
        ])
        try admit(practice)
        try expectSuccess(["network", "publish", "--home", authority, "--to", mailboxes + "/directory"])
        try join(prisonOnDisk)
        let daemon = try DaemonProcess(home: prisonOnDisk)
        let synced = eventually(timeout: 20) {
            FileManager.default.fileExists(atPath: prisonOnDisk + "/directory/log/checkpoint")
        }
        #expect(synced, "\(daemon.logText)")
        #expect(daemon.stop() == 0)
        #expect(daemon.logText.contains("directory: verified 1 new entries"), "\(daemon.logText)")
        #expect(try expectSuccess(["partners", "list", "--home", prisonOnDisk]).stdout.contains("A81001"))
    }
}

extension NetworkDirectoryTests {
    @Test func aKeyRotationReachesDirectoryPartnersThroughReadmission() throws {
        try admit(practice)
        try admit(prison)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        for home in [practice, prison] {
            try join(home)
            try expectSuccess(["network", "sync", "--home", home, "--from", served])
        }
        try expectSuccess(["keys", "rotate", "--home", practice, "--grace", "1s"])
        let card = folder.appending("rotated.card")
        try expectSuccess(["identity", "export", "--home", practice, "-o", card])
        // Signed by the admitted root: no fingerprint question (stdin is empty, which answers no).
        let admitted = try expectSuccess(["network", "admit", "--home", authority, card])
        #expect(admitted.stdout.contains("updating its keys (manifest version 2)"), "\(admitted.stdout)")
        // The same card again is a no-op; an older one is a rollback.
        #expect(try expectSuccess(["network", "admit", "--home", authority, card]).stdout.contains("already admitted"))
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])

        let record = try folder.write("letter.txt", Array("Follow-up booked".utf8))
        let bundle = folder.appending("rotated.ghb")
        try expectSuccess(["seal", "--home", practice, "--to", "YOI123", "-o", bundle, record])
        try expectSuccess(["open", "--home", prison, bundle, "-o", folder.appending("opened-rotated")])
    }
}

extension NetworkDirectoryTests {
    @Test func gatewaysFollowARotationOfTheNetworksRootAndRefuseAForgedOne() throws {
        try admit(practice)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        try join(prison)
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])
        let oldKey = try Data(contentsOf: URL(fileURLWithPath: authority + "/network/root.key"))

        try admit(outsider)
        let rotated = try expectSuccess(["network", "rotate-root", "--home", authority, "--to", served])
        #expect(rotated.stdout.contains("new fingerprint"), "\(rotated.stdout)")
        let newKey = try Data(contentsOf: URL(fileURLWithPath: authority + "/network/root.key"))
        #expect(newKey != oldKey)
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])
        // From now on the new key alone signs: the prison follows.
        try admit(folder.appending("practice"))
        let fresh = folder.appending("fourth")
        try expectSuccess(["init", "--home", fresh, "--org", "B82002", "--name", "Fourth Practice"])
        try admit(fresh)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        let checkpoint = try String(contentsOfFile: served + "/checkpoint", encoding: .utf8)
        #expect(checkpoint.components(separatedBy: "\u{2014} ").count == 2, "one signature: \(checkpoint)")
        #expect(
            try expectSuccess(["network", "sync", "--home", prison, "--from", served]).stdout.contains(
                "the directory holds 3"))
        // A gateway that joins now pins the new card and reads the whole log.
        try join(practice)
        try expectSuccess(["network", "sync", "--home", practice, "--from", served])
    }
}

extension NetworkDirectoryTests {
    @Test func aGatewayThatRequiresAWitnessWaitsForItsCosignature() throws {
        try admit(practice)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        let witnessHome = folder.appending("witness")
        let witnessKey = try expectSuccess([
            "network", "witness", "init", "--home", witnessHome, "--name", "witness.nhs.example/w1",
        ])
        .stdout.trimmingCharacters(in: .newlines)
        try join(prison)
        try expectSuccess(["network", "require-witnesses", "--home", prison, "--require", "1", witnessKey])
        let waiting = try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", served])
        #expect(waiting.status == 8 && waiting.stderr.contains("0 of the 1 witness cosignatures"), "\(waiting.stderr)")

        let card = folder.appending("witness-network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", card])
        try expectSuccess(["network", "witness", "cosign", "--home", witnessHome, card, "--from", served])
        try expectSuccess(["network", "sync", "--home", prison, "--from", served])

        // The next publication is not trusted until the witness has verified and cosigned it too.
        try admit(outsider)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        #expect(try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", served]).status == 8)
        try expectSuccess(["network", "witness", "cosign", "--home", witnessHome, "--from", served])
        #expect(try expectSuccess(["network", "sync", "--home", prison, "--from", served]).stdout.contains("holds 2"))

        // A log rolled back to empty, signed by the network key: the witness refuses to cosign it,
        // and the old cosignatures served beside it do not make the gateway trust it.
        let forked = folder.appending("forked")
        try FileManager.default.copyItem(atPath: authority, toPath: forked)
        try FileManager.default.removeItem(atPath: forked + "/network/log")
        let lying = folder.appending("lying")
        try expectSuccess(["network", "publish", "--home", forked, "--to", lying])
        try FileManager.default.copyItem(atPath: served + "/witness", toPath: lying + "/witness")
        #expect(
            try GatehouseProcess.run(["network", "witness", "cosign", "--home", witnessHome, "--from", lying]).status
                == 8)
        #expect(try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", lying]).status == 8)
    }
}

extension NetworkDirectoryTests {
    @Test func commandsExplainWhatIsMissingOrWrong() throws {
        // A gateway that joined nothing, a card that is not a network card, an ODS not admitted.
        let notJoined = try GatehouseProcess.run(["network", "sync", "--home", practice, "--from", served])
        #expect(notJoined.status == 10 && notJoined.stderr.contains("joined no network"), "\(notJoined.stderr)")
        let junk = try folder.write("junk.card", Array("-----BEGIN GATEHOUSE NETWORK CARD-----\nnetwork: x\n".utf8))
        #expect(try GatehouseProcess.run(["network", "join", "--home", practice, junk, "--yes"]).status == 11)
        #expect(try GatehouseProcess.run(["network", "revoke", "--home", authority, "A81001", "--reason", "x"]).status == 11)
        #expect(try GatehouseProcess.run(["network", "admit", "--home", authority, junk, "--yes"]).status != 0)
        #expect(try GatehouseProcess.run(["network", "init", "--home", authority, "--name", "again"]).status == 10)
        #expect(try GatehouseProcess.run(["network", "init", "--home", folder.appending("bad"), "--name", "has space"]).status == 12)

        // show --json: the authority's view, pending entries included.
        try admit(practice)
        let pending = try expectSuccess(["network", "show", "--home", authority, "--json"]).stdout
        let json = try #require(try JSONSerialization.jsonObject(with: Data(pending.utf8)) as? [String: Any])
        #expect(json["size"] as? Int == 0 && json["pending"] as? Int == 1)
        let rows = try #require(json["organisations"] as? [[String: Any]])
        #expect(rows.first?["org"] as? String == "A81001" && rows.first?["state"] as? String == "pending")
        try expectSuccess(["network", "publish", "--home", authority])
        #expect(try expectSuccess(["network", "show", "--home", authority, "A81001"]).stdout.contains("entry 0\tadmitted"))
        #expect(try GatehouseProcess.run(["network", "show", "--home", authority, "YOI123"]).status == 11)
    }
}

extension NetworkDirectoryTests {
    /// The issue's last attack: a directory served stale (nothing newer published, or a relay
    /// holding back the checkpoint) for longer than `[directory] stale_after` is a WARNING in
    /// `doctor`, not before.
    @Test func aDirectoryServedStaleLongerThanTheConfiguredAgeIsAWarning() throws {
        try admit(practice)
        // The last checkpoint served was signed three hours ago.
        let network = NetworkAuthority(home: GatehouseHome(path: authority))
        _ = try network.publish(key: try network.loadRootKey(), now: KeyStore.now() - 3 * 3600, mirrors: [served])
        try join(practice)
        try expectSuccess(["network", "sync", "--home", practice, "--from", served])
        func staleWarning() throws -> Bool {
            let doctor = try GatehouseProcess.run(["doctor", "--home", practice]).stdout
            return doctor.split(separator: "\n").contains { $0.contains("WARNING") && $0.contains("stale_after") }
        }
        #expect(try !staleWarning(), "within the default of two days")
        let config = practice + "/gatehouse.toml"
        let text = (try? String(contentsOfFile: config, encoding: .utf8)) ?? "[directory]\nstale_after = \"2d\"\n"
        try text.replacingOccurrences(of: "stale_after = \"2d\"", with: "stale_after = \"2h\"")
            .write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try staleWarning())
    }
}

extension NetworkDirectoryTests {
    /// `partners list --json` shows a directory partner's newer card, the one its key manifest
    /// brought (DIRECTORY.md §7.3), not the listing's older one.
    @Test func partnersListShowsTheCardADirectoryPartnerRotatedTo() throws {
        try admit(prison)
        try publishAndSync(practice)
        func listed() throws -> String {
            try expectSuccess(["partners", "list", "--home", practice, "--json"]).stdout
        }
        #expect(try listed().contains("\"manifest_version\" : 1"))
        try expectSuccess(["keys", "rotate", "--home", prison, "--grace", "1s"])
        let rotated = try KeyStore(home: GatehouseHome(path: prison)).loadOwnCard()
        // What the practice's running gateway does with the prison's key-manifest control bundle.
        #expect(try PartnerStore(home: GatehouseHome(path: practice)).update(with: rotated).outcome == .updated)
        let json = try listed()
        #expect(json.contains("\"manifest_version\" : 2") && json.contains("\"source\" : \"directory\""), "\(json)")
    }
}
