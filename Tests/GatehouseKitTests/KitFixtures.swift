import GatehouseFormat
import GatehouseKit

/// Values and helpers shared by the key-store and partner-store tests.
enum KitFixtures {
    /// A GP practice.
    static let practice = try! ODSCode("A81001")
    /// A prison healthcare team.
    static let prison = try! ODSCode("XHM01")
    /// A key id no test key has.
    static let unknownKeyID = try! KeyID(hex: "0011223344556677")

    /// The error `body` throws, or nil.
    static func kitError(_ body: () throws(KitError) -> Void) -> KitError? {
        do { try body(); return nil } catch { return error }
    }
}
