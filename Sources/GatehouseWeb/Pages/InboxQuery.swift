import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// The inbox search form: every field optional, each checked (an NHS number by its modulus-11
/// check digit, dates as YYYY-MM-DD, a sender as an ODS code, a workflow by its rule).
struct InboxQuery {
    var nhs = "", text = "", sender = "", workflow = "", from = "", to = ""
    var page = 0

    init(_ fields: FormFields) {
        nhs = fields["nhs"].trimmed
        text = String(fields["text"].trimmed.unicodeScalars.prefix(100))
        sender = fields["sender"].trimmed
        workflow = fields["workflow"].trimmed
        from = fields["from"].trimmed
        to = fields["to"].trimmed
        page = min(max(0, Int(fields["page"]) ?? 0), 100_000)
    }

    var isFiltered: Bool { ![nhs, text, sender, workflow, from, to].allSatisfy(\.isEmpty) }

    /// The values typed, for the form to show them again (escaped by the template).
    var echo: [String: String] {
        ["nhs": nhs, "text": text, "sender": sender, "workflow": workflow, "from": from, "to": to]
    }

    /// The journal filter; `invalidInput` naming the field that is wrong.
    func filter() throws(WebError) -> IncomingFilter {
        var filter = IncomingFilter()
        if !nhs.isEmpty {
            let digits = NHSNumber.normalise(nhs)
            guard NHSNumber.isValid(digits) else {
                throw .invalidInput("NHS number: \(NHSNumber.invalidMessage(digits))")
            }
            filter.nhsNumber = digits
        }
        if !text.isEmpty { filter.subjectText = text }
        if !sender.isEmpty {
            guard let code = try? ODSCode(userInput: sender) else {
                throw .invalidInput("Sender: \(sender.debugDescription) is not an ODS code (3 to 9 letters and digits)")
            }
            filter.sender = code
        }
        if !workflow.isEmpty {
            guard let flow = try? Workflow(workflow) else {
                throw .invalidInput("Workflow: use lower-case letters, digits and hyphens, e.g. reception-summary")
            }
            filter.workflow = flow
        }
        if !from.isEmpty { filter.since = try Self.day(from, field: "Received from") }
        if !to.isEmpty { filter.until = try Self.day(to, field: "Received to") + 86_400_000 }
        return filter
    }

    /// Midnight UTC of `YYYY-MM-DD`, in ms.
    static func day(_ text: String, field: String) throws(WebError) -> Int64 {
        guard let seconds = PointInTime.parse(text + "T00:00:00Z"), text.utf8.count == 10 else {
            throw .invalidInput("\(field): write the date as YYYY-MM-DD, e.g. 2026-12-05")
        }
        return Int64(seconds) * 1000
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespaces) }
}
