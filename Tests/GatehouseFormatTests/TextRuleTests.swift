import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// Names and subjects people read (FORMAT.md §3.6, §3.7): the same rules at seal and at open,
/// and an opener refuses the bundle of a sealer that did not check.
@Suite("Look-alike and invisible characters in names and subjects")
struct TextRuleTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")

    /// The error of sealing `names` with `subject` normally (`nil` when it sealed).
    func sealing(_ names: [String], subject: String = "") -> FormatError? {
        do {
            _ = try BundleFixture.seal(names.map { ($0, Array("x".utf8)) }, from: practice, to: [prison],
                                       context: PackContext(subject: subject))
            return nil
        } catch { return error as? FormatError }
    }

    /// The error of opening what a sealer that checks nothing made of `names` and `subject`.
    func opening(_ names: [String], subject: String = "") throws -> FormatError? {
        let (bytes, _) = try BundleFixture.seal(names.map { ($0, Array("x".utf8)) }, from: practice, to: [prison],
                                                context: PackContext(subject: subject)) {
            $0.hooks.skipTextChecks = true
        }
        do {
            _ = try BundleFixture.open(bytes, as: prison, knowing: [practice])
            return nil
        } catch { return error }
    }

    static let lookAlikeNames: [[String]] = [
        ["report\u{202E}fdp.exe"],                   // shows as "reportexe.pdf"
        ["summary.xml", "summary\u{200B}.xml"],       // a zero-width space
        ["café.txt", "cafe\u{301}.txt"],              // NFC and NFD twins
        ["cafe\u{301}.txt"],                          // NFD alone
        ["Report.pdf", "report.pdf"],                 // equal after case folding
        ["STRASSE.txt", "straße.txt"],                // equal after full case folding
        ["summary\u{3164}.xml"],                      // HANGUL FILLER, default-ignorable
        ["line\u{2028}break.txt"],                    // LINE SEPARATOR
        ["unassigned\u{378}.txt"],                    // not assigned in Unicode 16.0
    ]

    @Test("look-alike names are refused when sealing", arguments: lookAlikeNames)
    func refusedAtSeal(names: [String]) {
        #expect(sealing(names)?.category == .invalidInput, "\(names)")
    }

    @Test("look-alike names are refused when opening", arguments: lookAlikeNames)
    func refusedAtOpen(names: [String]) throws {
        let error = try opening(names)
        #expect(error?.category == .malformed, "\(names): \(String(describing: error))")
    }

    static let badSubjects = ["Reception\u{202E}screening", "Reception\u{2028}screening", "Reception\u{2029}", "Zero\u{200B}width",
                              "Re\u{301}ception", "tab\there", "bell\u{7}", String(repeating: "x", count: 1025)]

    @Test("bad subjects are refused when sealing and when opening", arguments: badSubjects)
    func subjects(subject: String) throws {
        #expect(sealing(["a.txt"], subject: subject)?.category == .invalidInput)
        #expect(try opening(["a.txt"], subject: subject)?.category == .malformed)
    }

    @Test func namesThatLookForeignButAreDistinctAreKept() throws {
        // Different letters, not case variants (dotless ı is not i), a leading combining mark,
        // emoji, right-to-left letters without any control: all published as they are.
        let names = ["i.txt", "\u{131}.txt", "\u{301}abc", "📄 summary.txt", "מכתב.pdf", "ΣΊΣΥΦΟΣ.txt", "\u{E000}.bin"]
        let (bytes, _) = try BundleFixture.seal(names.map { ($0, Array($0.utf8)) }, from: practice, to: [prison],
                                                context: PackContext(subject: "Réception — dépistage"))
        let opened = try BundleFixture.open(bytes, as: prison, knowing: [practice])
        #expect(opened.files.map { Array($0.name.utf8) } == names.map { Array($0.utf8) })
        #expect(opened.manifest.subject == "Réception — dépistage")
    }

    @Test func errorsNameTheCharacterWithoutPrintingIt() {
        let error = sealing(["report\u{202E}fdp.exe"])
        #expect(error?.detail.contains(#""report\u{202E}fdp.exe" contains U+202E RIGHT-TO-LEFT OVERRIDE"#) == true,
                "\(String(describing: error))")
        #expect(error?.detail.unicodeScalars.contains("\u{202E}") == false)
        let twins = sealing(["Report.pdf", "report.pdf"])
        #expect(twins?.detail.contains("differ only in case") == true, "\(String(describing: twins))")
        // A subject may name a patient: it is not repeated in the message.
        let subject = sealing(["a.txt"], subject: "Ada Testperson\u{2028}")
        #expect(subject?.detail == "the subject contains U+2028 LINE SEPARATOR, a line or paragraph separator", "\(String(describing: subject))")
    }

    @Test func aHandBuiltManifestWithTwinNamesDoesNotParse() throws {
        let files = ["Report.pdf", "report.pdf"].map { ManifestFile(name: $0, size: 1, sha256: SHA256Hasher.hash([1])) }
        let manifest = Manifest.unchecked(kind: .records, bundleID: .random(), createdAt: BundleFixture.createdAt, sender: practice.ods,
                                          recipients: [prison.ods], files: files, signingKey: practice.signing)
        do {
            _ = try Manifest.parse(manifest.encoded)
            Issue.record("a manifest naming Report.pdf and report.pdf parsed")
        } catch {
            #expect(error.category == .malformed && error.detail.contains("differ only in case"), "\(error)")
        }
        #expect(throws: FormatError.self) {
            try Manifest.signed(kind: .records, bundleID: .random(), createdAt: 0, sender: practice.ods, recipients: [prison.ods],
                                files: files, signingKey: practice.signing)
        }
        let table = FileTable.encode(files.map { FileTableEntry(name: $0.name, size: $0.size) })
        #expect((try? FileTable.parse(table[...])) == nil)
    }
}
