import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@Suite("Key store")
struct KeyStoreTests {
    let folder: TemporaryDirectory
    let home: GatehouseHome
    let store: KeyStore

    init() throws {
        folder = try TemporaryDirectory()
        home = GatehouseHome(path: folder.appending("home"))
        store = KeyStore(home: home)
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test func initialiseCreatesPrivateKeyFilesAndACard() throws {
        let card = try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice", created: 1_795_599_000)
        #expect(store.isInitialised)
        for path in [store.rootKeyPath, store.signingKeyPath(id: card.signingKeyID), store.encryptionKeyPath(id: card.encryptionKeyID)] {
            #expect(try mode(path) == 0o600, "\(path)")
        }
        #expect(try mode(home.keysPath) == 0o700)
        #expect(try store.loadOwnCard() == card)
        #expect(try store.loadSigningKey().publicKey == card.signingKey)
        #expect(try store.loadRootKey().publicKey == card.rootKey)
        let encryption = try store.loadEncryptionKey(id: card.encryptionKeyID)?.publicKey
        #expect(encryption == card.encryptionKey)
        let unknown = try store.loadEncryptionKey(id: KitFixtures.unknownKeyID)?.publicKey
        #expect(unknown == nil)
        try store.verifyKeys()
    }

    @Test func reinitialisingIsRefusedAndKeepsTheKeys() throws {
        let card = try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice")
        let before = try String(contentsOfFile: store.rootKeyPath, encoding: .utf8)
        let error = KitFixtures.kitError { () throws(KitError) in try store.initialise(org: KitFixtures.practice, name: "Again") }
        #expect(error?.category == .alreadyInitialised)
        #expect(try String(contentsOfFile: store.rootKeyPath, encoding: .utf8) == before)
        #expect(try store.loadOwnCard() == card)
    }

    @Test func anyLeftoverKeyFileBlocksInitialisation() throws {
        try FileManager.default.createDirectory(atPath: home.keysPath, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: home.keysPath + "/signing-0011223344556677.key", contents: Data())
        let error = KitFixtures.kitError { () throws(KitError) in try store.initialise(org: KitFixtures.practice, name: "Riverside") }
        #expect(error?.category == .alreadyInitialised)
        #expect(error?.path == home.keysPath + "/signing-0011223344556677.key")
    }

    @Test func exclusiveCreateNeverOverwrites() throws {
        let path = folder.appending("file")
        try FileOperations.createExclusively(at: path, contents: Array("first".utf8), mode: 0o600)
        let error = KitFixtures.kitError { () throws(KitError) in try FileOperations.createExclusively(at: path, contents: Array("second".utf8), mode: 0o600) }
        #expect(error?.category == .fileExists)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first")
        // A planted symbolic link is refused rather than followed.
        let link = folder.appending("link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: folder.appending("target"))
        #expect(KitFixtures.kitError { () throws(KitError) in try FileOperations.createExclusively(at: link, contents: [1], mode: 0o600) }?.category == .fileExists)
        #expect(!FileManager.default.fileExists(atPath: folder.appending("target")))
    }

    @Test(arguments: [0o640, 0o604, 0o644, 0o660, 0o610, 0o601])
    func keyFilesOpenToOthersAreRefused(permissions: Int) throws {
        try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice")
        let path = store.rootKeyPath
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        let error = KitFixtures.kitError { () throws(KitError) in _ = try store.loadRootKey() }
        #expect(error?.category == .unsafePermissions)
        #expect(error?.path == path)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("chmod 600 \(path)") == true)
        // Every use of the home notices, not only loading that key.
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadOwnCard() }?.category == .unsafePermissions)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadSigningKey() }?.category == .unsafePermissions)
    }

    @Test func keyIDMismatchIsDetected() throws {
        let card = try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice")
        let path = store.signingKeyPath(id: card.signingKeyID)
        var words = try String(contentsOfFile: path, encoding: .utf8).split(separator: " ").map(String.init)
        words[3] = "0011223344556677"
        try FileManager.default.removeItem(atPath: path)
        try FileOperations.createExclusively(at: path, contents: Array(words.joined(separator: " ").utf8), mode: 0o600)
        let error = KitFixtures.kitError { () throws(KitError) in _ = try store.loadSigningKey() }
        #expect(error?.category == .keyFileInvalid)
        #expect(error?.message.contains("does not match") == true)
        #expect(error?.message.contains(path) == true)
    }

    @Test func swappedKeyFilesAreDetected() throws {
        let card = try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice")
        // The root key's file put where the signing key should be: wrong role, wrong key.
        let signingPath = store.signingKeyPath(id: card.signingKeyID)
        try FileManager.default.removeItem(atPath: signingPath)
        try FileManager.default.copyItem(atPath: store.rootKeyPath, toPath: signingPath)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadSigningKey() }?.category == .keyFileInvalid)
    }

    @Test func uninitialisedHomeIsReported() {
        #expect(!store.isInitialised)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadOwnCard() }?.category == .notInitialised)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadSigningKey() }?.category == .notInitialised)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadEncryptionKey(id: KitFixtures.unknownKeyID) }?.category == .notInitialised)
    }

    @Test func invalidNamesCreateNothing() throws {
        let error = KitFixtures.kitError { () throws(KitError) in try store.initialise(org: KitFixtures.practice, name: " ") }
        #expect(error?.category == .invalidInput)
        #expect(!FileManager.default.fileExists(atPath: home.keysPath))
    }

    @Test func homeResolution() {
        #expect(GatehouseHome.resolve(explicit: "/a/b/", environment: ["GATEHOUSE_HOME": "/c"], currentDirectory: "/d").path == "/a/b")
        #expect(GatehouseHome.resolve(explicit: nil, environment: ["GATEHOUSE_HOME": "rel"], currentDirectory: "/d").path == "/d/rel")
        #expect(GatehouseHome.resolve(explicit: nil, environment: ["GATEHOUSE_HOME": ""], currentDirectory: "/d").path == "/d")
        #expect(GatehouseHome(path: "/x").partnersPath == "/x/partners")
        #expect(GatehouseHome(path: "/x").ownCardPath == "/x/keys/identity.card")
    }
}
