import GatehouseFormat
import GatehouseJournal
import NIOCore
import PostgresNIO

/// A value the journal stores as text, the same columns the SQLite journal has: the format's
/// identifiers (a bundle id as 32 hex digits, an ODS code as itself). A column holding a value
/// Gatehouse never writes is a decoding failure when read, never passed on.
public protocol PostgresTextValue: PostgresNonThrowingEncodable, PostgresDecodable {
    /// The text stored.
    var postgresText: String { get }
    /// The value `text` holds; nil for text Gatehouse never writes.
    init?(postgresText: String)
}

extension PostgresTextValue {
    public static var psqlType: PostgresDataType { .text }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<E: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<E>) {
        postgresText.encode(into: &byteBuffer, context: context)
    }

    public init<D: PostgresJSONDecoder>(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
                                        context: PostgresDecodingContext<D>) throws {
        let text = try String(from: &buffer, type: type, format: format, context: context)
        guard let value = Self(postgresText: text) else { throw PostgresDecodingError.Code.failure }
        self = value
    }
}

extension BundleID: PostgresTextValue {
    public var postgresText: String { hex }
    public init?(postgresText: String) { try? self.init(hex: postgresText) }
}

extension ODSCode: PostgresTextValue {
    public var postgresText: String { value }
    public init?(postgresText: String) { try? self.init(postgresText) }
}
