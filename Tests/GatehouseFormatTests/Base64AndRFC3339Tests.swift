import GatehouseFormat
import Testing

@Suite("Strict base64 and RFC 3339 helpers")
struct Base64AndRFC3339Tests {
    /// RFC 4648 §10 test vectors.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test(arguments: ["Zh==", "Zm9=", "Zg", "Zg=", "Z===", "====", "Zm9v\n", " Zm9v", "Zm9vYg==Zm9v", "Zg==Zg==", "Zm-_", "Zm9vY===", "Zm=v"])
    func nonCanonicalTextIsRefused(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func everyLengthRoundTrips() {
        for count in 0...70 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.encode(bytes).utf8.count == Base64.encodedLength(of: count))
        }
    }

    @Test(arguments: [("1970-01-01T00:00:00Z", UInt64(0)), ("2000-02-29T12:34:56Z", 951_827_696),
                      ("2026-11-25T09:30:00Z", 1_795_599_000), ("9999-12-31T23:59:59Z", RFC3339.maxSeconds)])
    func knownInstants(text: String, seconds: UInt64) {
        #expect(RFC3339.parse(text) == seconds)
        #expect(RFC3339.format(seconds) == text)
    }

    @Test(arguments: ["1969-12-31T23:59:59Z", "2026-11-25T09:30:00", "2026-11-25t09:30:00Z", "2026-11-25 09:30:00Z",
                      "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2100-02-29T00:00:00Z",
                      "2026-11-25T24:00:00Z", "2026-11-25T09:60:00Z", "2026-11-25T09:30:60Z", "2026-11-25T09:30:00.000Z",
                      "+2026-11-25T09:30:00Z", "2026-11-25T09:30:0AZ"])
    func nonCanonicalTimesAreRefused(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test(arguments: [(Int64(0), "1970-01-01T00:00:00.000Z"), (-5, "1970-01-01T00:00:00.000Z"), (7, "1970-01-01T00:00:00.007Z"),
                      (1_795_599_000_125, "2026-11-25T09:30:00.125Z"), (951_827_696_090, "2000-02-29T12:34:56.090Z"),
                      (Int64(RFC3339.maxSeconds) * 1000 + 999, "9999-12-31T23:59:59.999Z")])
    func millisecondsForLogsAndJSON(milliseconds: Int64, text: String) {
        #expect(RFC3339.format(milliseconds: milliseconds) == text)
    }

    @Test func formatRoundTripsAcrossYears() {
        var seconds: UInt64 = 0
        while seconds < RFC3339.maxSeconds {
            let text = RFC3339.format(seconds)
            #expect(text.flatMap(RFC3339.parse) == seconds)
            seconds += 86_400 * 97 + 3_607
        }
        #expect(RFC3339.format(RFC3339.maxSeconds + 1) == nil)
    }
}
