import Foundation
import GatehouseTesting
import Testing

/// Witnesses over HTTP (C2SP tlog-witness, DIRECTORY.md §10.1): `network witness serve` runs,
/// `network publish` asks every witness named with `network add-witness`, and a gateway that
/// requires N of them trusts a checkpoint only when N cosigned.
extension NetworkDirectoryTests {
    /// A running `gatehouse network witness serve` on a free loopback port, and its key.
    struct ServedWitness {
        let process: DaemonProcess
        let url: String
        let key: String
    }

    func serveWitness(_ name: String, card: String, key: String? = nil) throws -> ServedWitness {
        let home = folder.appending(name)
        let key = try key ?? expectSuccess([
            "network", "witness", "init", "--home", home, "--name", "witness.nhs.example/\(name)",
        ]).stdout.trimmingCharacters(in: .newlines)
        // A witness started again appends to the same log: read only what this start writes.
        let logged = (try? FileManager.default.attributesOfItem(atPath: home + "/daemon.log")[.size] as? Int) ?? 0
        let process = try DaemonProcess(
            home: home, arguments: [card, "--listen", "127.0.0.1:0"], command: ["network", "witness", "serve"])
        var url: String?
        _ = eventually(timeout: 30) {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: home + "/daemon.log"))) ?? Data()
            let log = String(decoding: bytes.dropFirst(logged), as: UTF8.self)
            guard let start = log.range(of: "on http://127.0.0.1:") else { return false }
            url = "http://127.0.0.1:" + log[start.upperBound...].prefix { $0.isNumber }
            return true
        }
        return ServedWitness(process: process, url: try #require(url), key: key)
    }

    @Test func aGatewayTrustsACheckpointOnlyWhenNOfMWitnessesCosignedItOverHTTP() throws {
        let card = folder.appending("network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", card])
        var witnesses = try ["w1", "w2", "w3"].map { try serveWitness($0, card: card) }
        for witness in witnesses {
            try expectSuccess(["network", "add-witness", "--home", authority, "--url", witness.url, witness.key])
        }
        try join(prison)
        try expectSuccess(
            ["network", "require-witnesses", "--home", prison, "--require", "2"] + witnesses.map(\.key))

        // All three cosign; the cosigned copies are where the gateway reads them.
        try admit(practice)
        let published = try expectSuccess(["network", "publish", "--home", authority, "--to", served]).stdout
        #expect(published.components(separatedBy: "cosigned").count == 4, "\(published)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: served + "/witness").count == 3)
        #expect(try expectSuccess(["network", "sync", "--home", prison, "--from", served]).stdout.contains("holds 1"))

        // Two witnesses down: the publication stands but says so (status 11), and the gateway
        // keeps the checkpoint it trusted (1 of the 2 required).
        witnesses[1].process.stop()
        witnesses[2].process.stop()
        try admit(outsider)
        let partial = try GatehouseProcess.run(["network", "publish", "--home", authority, "--to", served])
        #expect(partial.status == 11 && partial.stderr.contains("2 of 3 witnesses did not cosign"), "\(partial.stderr)")
        let unmet = try GatehouseProcess.run(["network", "sync", "--home", prison, "--from", served])
        #expect(unmet.status == 8 && unmet.stderr.contains("1 of the 2 witness cosignatures"), "\(unmet.stderr)")

        // w2 comes back (on a new port): it last cosigned size 1, so it answers 409 with "1", and
        // the authority asks again with a proof from 1. Two cosignatures: trusted.
        witnesses[1] = try serveWitness("w2", card: card, key: witnesses[1].key)
        try expectSuccess(["network", "add-witness", "--home", authority, "--url", witnesses[1].url, witnesses[1].key])
        let again = try GatehouseProcess.run(["network", "publish", "--home", authority, "--to", served])
        #expect(again.status == 11 && again.stderr.contains("1 of 3 witnesses"), "\(again.stderr)")
        #expect(again.stdout.components(separatedBy: "cosigned").count == 3, "\(again.stdout)")
        #expect(try expectSuccess(["network", "sync", "--home", prison, "--from", served]).stdout.contains("holds 2"))
    }

    @Test func aWitnessRefusesALogThatWasRolledBackOrRewritten() throws {
        let card = folder.appending("network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", card])
        let witness = try serveWitness("w1", card: card)
        try expectSuccess(["network", "add-witness", "--home", authority, "--url", witness.url, witness.key])
        try admit(practice)
        try admit(prison)
        try expectSuccess(["network", "publish", "--home", authority, "--to", served])
        // A copy of the authority whose log was rewritten from scratch, signed by the true network
        // key. One entry: the witness answers 409 with 2, more than this log holds.
        let forked = folder.appending("forked")
        try FileManager.default.copyItem(atPath: authority, toPath: forked)
        try FileManager.default.removeItem(atPath: forked + "/network/log")
        func admitForked(_ home: String) throws {
            let card = folder.appending("card-\(UUID().uuidString)")
            try expectSuccess(["identity", "export", "--home", home, "-o", card])
            try expectSuccess(["network", "admit", "--home", forked, card, "--yes"])
        }
        try admitForked(outsider)
        let lying = folder.appending("lying")
        let smaller = try GatehouseProcess.run(["network", "publish", "--home", forked, "--to", lying])
        #expect(smaller.status == 11 && smaller.stderr.contains("cosigned a tree of 2 entries"), "\(smaller.stderr)")
        // Three entries, another history: asked again from 2, the consistency proof fails (422).
        try admitForked(practice)
        try admitForked(prison)
        let rewritten = try GatehouseProcess.run(["network", "publish", "--home", forked, "--to", lying])
        #expect(rewritten.status == 11 && rewritten.stderr.contains("HTTP 422"), "\(rewritten.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lying + "/witness"))
        witness.process.stop()
    }
}
