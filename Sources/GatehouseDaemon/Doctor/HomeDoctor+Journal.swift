import GatehouseFormat
import GatehouseJournal
import GatehouseJournalPostgres
import GatehouseKit

extension HomeDoctor {
    /// With `[journal]` naming PostgreSQL: the password file is private, the database answers
    /// (over TLS when required) and holds the journal's tables. Nothing to check for the SQLite
    /// file beyond the spool's own checks.
    func journal(own: IdentityCard, config: GatehouseConfig) -> [DoctorFinding] {
        guard let settings = config.journal else { return [] }
        do {
            let postgres = try PostgresSettings(settings)
            guard let journal = try PostgresJournal.openIfCreated(settings: postgres, org: own.org) else {
                return [DoctorFinding("journal", .warning, "\(postgres.describe) answers but holds no Gatehouse journal yet",
                                      fix: "start `gatehouse run` (the first node creates the tables), or "
                                          + "`gatehouse journal migrate` this gateway's SQLite journal into it")]
            }
            let counts = try journal.outgoingCounts()
            return [DoctorFinding("journal", .ok, "\(postgres.describe) answers; \(counts.values.reduce(0, +)) "
                                  + "outgoing bundles of \(own.org)")]
        } catch let error as JournalError {
            return [DoctorFinding("journal", .problem, error.message, fix: error.hint)]
        } catch {
            return [DoctorFinding("journal", .problem, "\(error)")]
        }
    }
}
