extension AuditEntry {
    /// The staff account an entry names (`user=NAME` first in its detail, as the web pages write
    /// it), or nil for entries of the gateway itself.
    public var user: String? {
        guard let detail, detail.hasPrefix("user=") else { return nil }
        let name = detail.dropFirst(5).prefix { $0 != " " }
        return name.isEmpty || name == "-" ? nil : String(name)
    }
}
