/// Timestamps as Gatehouse writes them: RFC 3339 in UTC with whole seconds and a `Z`
/// (`2026-11-25T09:30:00Z`), exactly 20 characters, from 1970 to 9999.
///
/// There is one spelling per instant: no offsets other than `Z`, no fractional seconds, no
/// leap second (`:60`), so a signed timestamp can be re-rendered and compared byte for byte.
public enum RFC3339 {
    /// The latest representable instant, `9999-12-31T23:59:59Z`, in seconds since 1970.
    public static let maxSeconds: UInt64 = 253_402_300_799

    /// The text with milliseconds (`2026-11-25T09:30:00.125Z`) for `milliseconds` since
    /// 1970-01-01T00:00:00Z (negative values count as 0); nil past ``maxSeconds``. For logs and
    /// JSON output only: signed formats use whole seconds.
    public static func format(milliseconds: Int64) -> String? {
        let clamped = max(0, milliseconds)
        return text(seconds: UInt64(clamped / 1000), milliseconds: Int(clamped % 1000))
    }

    /// The text for `seconds` since 1970-01-01T00:00:00Z; nil past ``maxSeconds``.
    public static func format(_ seconds: UInt64) -> String? { text(seconds: seconds, milliseconds: nil) }

    /// Written digit by digit into one buffer: status listings and log lines format thousands.
    private static func text(seconds: UInt64, milliseconds: Int?) -> String? {
        guard seconds <= maxSeconds else { return nil }
        let days = Int64(seconds / 86_400)
        let rest = Int(seconds % 86_400)
        let (year, month, day) = civil(fromDays: days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(year), 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T")); digits(rest / 3600, 2); out.append(UInt8(ascii: ":")); digits(rest / 60 % 60, 2)
        out.append(UInt8(ascii: ":")); digits(rest % 60, 2)
        if let milliseconds { out.append(UInt8(ascii: ".")); digits(milliseconds, 3) }
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Seconds since 1970 for canonical text; nil for anything else.
    public static func parse(_ text: some StringProtocol) -> UInt64? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              year >= 1970, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysFromCivil(year: Int64(year), month: month, day: day)
        return UInt64(days) * 86_400 + UInt64(hour * 3600 + minute * 60 + second)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact proleptic Gregorian arithmetic.
    private static func daysFromCivil(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
