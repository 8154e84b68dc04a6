/// The directory checkpoint a bundle header (FORMAT.md §3.1, extension `1`) or a receipt
/// (FORMAT.md §4.1) carries: `u8 1 || u16 length || note`, the note being the signed checkpoint
/// (DIRECTORY.md §4) its signer trusted. One encoding and one set of rules for both carriers.
///
/// The note's signature is not checked here (the reader may follow no network, or another): the
/// gateway that follows the same network checks it before it compares (DIRECTORY.md §7.2).
public enum CarriedCheckpoint {
    /// The tag of the field: extension `1` in a header, the optional field in a receipt.
    public static let tag: UInt8 = 1
    /// The longest note carried (a signed note's own limit, DIRECTORY.md §3).
    public static let maxNoteLength = SignedNote.maxLength
    /// The field's length around a note of `count` bytes: tag and u16 length.
    public static func fieldLength(note count: Int) -> Int { 1 + 2 + count }

    /// Checks that `note` may be carried: a canonical signed note whose text is a checkpoint.
    public static func check(_ note: [UInt8]) throws(FormatError) {
        guard (1...maxNoteLength).contains(note.count) else {
            throw .malformed("the directory checkpoint is \(note.count) bytes, outside 1…\(maxNoteLength)")
        }
        let parsed: SignedNote
        do { parsed = try SignedNote.parse(note) } catch {
            throw .malformed("the directory checkpoint is not a signed note: \(error.detail)")
        }
        // Exactly one spelling: a note a reader would re-encode differently is refused.
        guard parsed.bytes == note else { throw .malformed("the directory checkpoint is not a canonical signed note") }
        do { _ = try Checkpoint.parse(parsed.text) } catch {
            throw .malformed("the directory checkpoint's text is not a checkpoint: \(error.detail)")
        }
    }

    /// Appends the field for `note` (checked first; `invalidInput` when it may not be carried).
    public static func encode(_ note: [UInt8], into builder: inout ByteBuilder) throws(FormatError) {
        do { try check(note) } catch { throw .invalidInput(error.detail) }
        write(note, into: &builder)
    }

    /// Writes a note already passed through ``check(_:)`` (a header checks it when it is made, and
    /// is encoded more than once: parsing it again each time would only repeat that check).
    static func write(_ note: [UInt8], into builder: inout ByteBuilder) {
        builder.u8(tag)
        builder.u16(UInt16(note.count))
        builder.raw(note)
    }

    /// Reads the field at `cursor`, which must hold all of it: a wrong tag, a length of 0, beyond
    /// the limit or past the end, or a note that may not be carried is `malformed`.
    public static func parse(_ cursor: inout ByteCursor, in what: String) throws(FormatError) -> [UInt8] {
        guard let tag = cursor.u8(), tag == Self.tag else {
            throw .malformed("\(what): an extension tag other than 1 (directory checkpoint) is not defined")
        }
        guard let length = cursor.u16() else { throw .malformed("\(what): the directory checkpoint is truncated") }
        guard (1...maxNoteLength).contains(Int(length)) else {
            throw .malformed("\(what): a directory checkpoint of \(length) bytes is outside 1…\(maxNoteLength)")
        }
        guard let note = cursor.raw(Int(length)) else {
            throw .malformed("\(what): the directory checkpoint runs past the end (\(length) bytes declared)")
        }
        do { try check(note) } catch { throw .malformed("\(what): \(error.detail)") }
        return note
    }
}
