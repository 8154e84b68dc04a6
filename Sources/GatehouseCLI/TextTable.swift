/// Columns of text for a terminal: each as wide as its widest cell plus two spaces, so that no
/// value is cut and no two columns run together; the last column is not padded.
struct TextTable {
    /// The header cells.
    let header: [String]
    /// The rows, each with as many cells as the header.
    var rows: [[String]] = []

    /// The lines: the header, then one per row.
    var lines: [String] {
        // Widths in Unicode scalars: names from manifests may hold any readable text, and
        // scalars are what FORMAT.md's text rules count.
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].unicodeScalars.count }.max() ?? 0
        }
        return ([header] + rows).map { cells in
            var line = cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell
                    : cell + String(repeating: " ", count: widths[column] - cell.unicodeScalars.count + 2)
            }.joined()
            while line.unicodeScalars.last == " " { line.unicodeScalars.removeLast() }
            return line
        }
    }
}
