import ArgumentParser
import GatehouseFormat
import GatehouseKit

/// `gatehouse seal --to ODS[,ODS…] [-o OUT] FILE…`.
struct SealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal files into a signed bundle that only the named organisations can open.",
        discussion: """
            Each file is published at the other end under its base name, so base names must be \
            unique. A symbolic link you name is followed, and what it leads to must be a regular \
            file: a FIFO, device or socket is refused at once, never waited on. The bundle is \
            also sealed to your own key (unless --no-self) so you can \
            re-read what you sent. File names, the subject, the workflow and NHS numbers travel \
            only inside the encryption.

            Examples:
              gatehouse seal --to YOI123 summary.xml medications.csv
              gatehouse seal --to YOI123,XHM01 --subject "Reception screening" -o out.ghb scan.pdf
              gatehouse seal --to YOI123 --workflow reception-summary --nhs-number "999 000 0018" summary.xml
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp(
        "Recipient organisation codes, comma-separated (repeatable).", valueName: "ods[,ods…]"))
    var to: [String]

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp(
        "Write the bundle to this new file (default: <bundle id>.ghb here; never overwrites).", valueName: "file"))
    var output: String?

    @OptionGroup var pack: PackContextOptions

    @Flag(name: .customLong("no-self"), help: "Do not also seal to your own key.")
    var noSelf = false

    @Argument(help: ArgumentHelp("The files to seal.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file to seal") }
        guard !to.isEmpty else { throw ValidationError("name at least one recipient with --to") }
        _ = try recipients()
    }

    private func recipients() throws -> [ODSCode] {
        try to.flatMap { $0.splitBytes(UInt8(ascii: ",")).filter { !$0.isEmpty } }.map { try ODSCode.fromArgument(String($0)) }
    }

    func run() throws {
        let home = try homeOptions.initialised()
        let gateway = Gateway(home: home)
        var request = SealRequest(paths: files, recipients: try recipients())
        request.includeSelf = !noSelf
        request.context = try pack.context(config: try GatehouseConfig.load(home: home))
        request.output = output
        let result = try gateway.seal(request)
        let header = result.bundle.header
        let count = result.bundle.manifest.files.count
        print("Sealed \(count) file\(count == 1 ? "" : "s") from \(header.sender) for \(header.recipients.map(\.value).joined(separator: ", "))")
        print("bundle id:  \(header.bundleID)")
        print("bundle:     \(result.path) (\(result.bundle.length) bytes)")
        print("sha256:     \(result.bundle.bundleSHA256)")
    }
}
