public import GatehouseFormat

/// Identifiers for test data, from literals the test writes: a typo stops the test at once
/// (these are never used on input under test).
public enum TestID {
    /// The bundle id with these 32 hex digits.
    public static func bundle(_ hex: String) -> BundleID {
        do { return try BundleID(hex: hex) } catch { fatalError("test data: \(error)") }
    }

    /// The bundle id whose hex form is `n` in 32 digits (`000…0n`).
    public static func bundle(_ n: Int) -> BundleID { bundle(String(format: "%032x", n)) }

    /// The ODS code `code`.
    public static func ods(_ code: String) -> ODSCode {
        do { return try ODSCode(code) } catch { fatalError("test data: \(error)") }
    }
}
