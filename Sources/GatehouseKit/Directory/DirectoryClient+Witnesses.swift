public import GatehouseFormat

extension DirectoryClient {
    /// `HOME/directory/witnesses`: `require N` then one witness key a line (DIRECTORY.md §10).
    public var witnessesPath: String { folder + "/witnesses" }

    /// The witnesses this gateway requires, and how many of them must have cosigned a checkpoint
    /// before it is trusted; nil when it requires none.
    public func witnessPolicy() throws(KitError) -> (witnesses: [WitnessKey], required: Int)? {
        guard let bytes = try FileOperations.read(at: witnessesPath, limit: 64 * 1024) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let first = lines.first, first.hasBytePrefix("require "), let required = Int(first.dropFirst(8)),
            required >= 0
        else {
            throw .invalidCard("\(witnessesPath): the first line is not 'require N'", path: witnessesPath)
        }
        do {
            return (try lines.dropFirst().map { line throws(FormatError) in try WitnessKey.parse(line) }, required)
        } catch { throw .invalidCard("\(witnessesPath): \(error.detail)", path: witnessesPath) }
    }

    /// Requires `required` of `witnesses` to have cosigned every checkpoint trusted from now on.
    public func requireWitnesses(_ witnesses: [WitnessKey], required: Int) throws(KitError) {
        guard (0...witnesses.count).contains(required) else {
            throw .invalidInput("cannot require \(required) cosignatures from \(witnesses.count) witnesses")
        }
        let text = "require \(required)\n" + witnesses.map { $0.text + "\n" }.joined()
        try FileOperations.makeDirectory(folder, mode: 0o755)
        try FileOperations.replaceAtomically(at: witnessesPath, contents: Array(text.utf8), mode: 0o644)
    }

    /// How many of the required witnesses cosigned exactly the checkpoint `offered` in `source`.
    func cosignatures(of offered: [UInt8], in source: TileFolder, witnesses: [WitnessKey]) throws(KitError) -> Int {
        guard let note = try? SignedNote.parse(offered) else { return 0 }
        var count = 0
        for witness in witnesses {
            // A witness's file that is missing, of another checkpoint, or badly signed counts nothing.
            guard let bytes = try source.readWitness(witness), let cosigned = try? SignedNote.parse(bytes),
                cosigned.text == note.text, (try? witness.cosignedTime(cosigned)).flatMap({ $0 }) != nil
            else { continue }
            count += 1
        }
        return count
    }
}
