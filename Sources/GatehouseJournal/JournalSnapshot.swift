/// Everything one organisation's journal holds, in the order it was written: for moving a
/// journal from one store to another (`gatehouse journal migrate`).
public struct JournalSnapshot: Sendable {
    /// Outgoing bundles in claim order, each with its files and pack.
    public var outgoing: [(record: OutgoingRecord, files: [OutgoingFile], pack: JournalPack?)] = []
    /// Incoming bundles in the order they were processed, each with its verified pack.
    public var incoming: [(record: IncomingRecord, pack: JournalPack?)] = []
    /// Every transition, in order.
    public var transitions: [Transition] = []

    /// An empty snapshot.
    public init() {}

    /// Bundles both ways and transitions, for messages.
    public var summary: String {
        "\(outgoing.count) outgoing and \(incoming.count) incoming bundles, \(transitions.count) transitions"
    }
}
