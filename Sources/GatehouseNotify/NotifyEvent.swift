import Foundation
public import GatehouseFormat

/// One notification, as its receiver gets it: a JSON object (docs/NOTIFY.md). Absent fields are
/// left out, never `null`. Without `include_patient_data` it carries organisation codes, bundle
/// ids, counts and reasons only: never a subject, an NHS number or a file name.
public struct NotifyEvent: Codable, Sendable, Equatable {
    /// The partner an event is about.
    public struct Partner: Codable, Sendable, Equatable {
        /// Its ODS code.
        public var ods: String
        /// Its name, from its identity card (absent when no card is pinned).
        public var name: String?

        /// A partner.
        public init(ods: String, name: String?) {
            self.ods = ods
            self.name = name
        }
    }

    /// The schema version (1).
    public var version = 1
    /// The kind: one of ``NotifySettings/eventKinds``.
    public var event: String
    /// Random, 32 hex digits; the same on every retry, so a receiver can drop repeats.
    public var id: String
    /// When it happened (RFC 3339, UTC).
    public var time: String
    /// This gateway's organisation.
    public var organisation: String
    /// The partner concerned, if any.
    public var partner: Partner?
    /// The bundle concerned, if any.
    public var bundle: String?
    /// The pack's workflow, if known.
    public var workflow: String?
    /// How many files the bundle holds, if known.
    public var files: Int?
    /// Why, in words free of patient data (a receipt's reason, a key id, a duration).
    public var reason: String?
    /// When the key or card concerned expires (`key.expiring`, `partner.expiring`).
    public var expires: String?
    /// True for `gatehouse notify test`.
    public var test: Bool?
    /// With `include_patient_data` only: the pack's subject.
    public var subject: String?
    /// With `include_patient_data` only: the pack's NHS numbers.
    public var nhsNumbers: [String]?
    /// With `include_patient_data` only: the file names.
    public var fileNames: [String]?
    /// With `include_patient_data` only: the full reason as logged (it may name a file).
    public var detail: String?

    enum CodingKeys: String, CodingKey {
        case version, event, id, time, organisation, partner, bundle, workflow, files, reason, expires, test, subject
        case nhsNumbers = "nhs_numbers", fileNames = "file_names", detail
    }

    /// An event of `kind` happening at `milliseconds` since the epoch, with a new random id.
    public init(_ kind: String, organisation: ODSCode, at milliseconds: Int64) {
        event = kind
        id = BundleID.random().hex
        time = RFC3339.format(UInt64(max(0, milliseconds / 1000))) ?? "1970-01-01T00:00:00Z"
        self.organisation = organisation.value
    }

    /// The bytes sent: compact JSON with sorted keys (every quote, control character and
    /// non-ASCII text escaped by the encoder, so no field can break out of its string).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    /// Removes everything that may identify a patient.
    public mutating func removePatientData() {
        subject = nil
        nhsNumbers = nil
        fileNames = nil
        detail = nil
    }
}
