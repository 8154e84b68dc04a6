import GatehouseFormat
import GatehouseKit
import Testing

/// `[workflows]` in gatehouse.toml, a pack's `.gatehouse.toml`, and the one way times are read.
@Suite("Workflows, pack descriptions and times")
struct PackSettingsTests {
    @Test func workflowsAreReadWithTheirFolders() throws {
        let config = try GatehouseConfig.parse("""
            [workflows]
            names = ["reception-summary", "gp2gp-v3",]   # a trailing comma, as TOML allows
            default = "gp2gp-v3"
            [workflows.release-summary]
            folder = "/srv/gatehouse/release"
            [workflows.reception-summary]
            folder = "published/reception"
            """)
        #expect(config.workflows.names.map(\.value) == ["reception-summary", "gp2gp-v3"])
        #expect(config.workflows.defaultWorkflow.value == "gp2gp-v3")
        let home = GatehouseHome(path: "/var/lib/gatehouse")
        #expect(config.workflows.publishFolder(for: try Workflow("release-summary"), home: home) == "/srv/gatehouse/release")
        #expect(config.workflows.publishFolder(for: try Workflow("reception-summary"), home: home)
                == "/var/lib/gatehouse/published/reception")
        #expect(config.workflows.publishFolder(for: try Workflow("gp2gp-v3"), home: home) == nil)
        #expect(try config.workflows.accepted(nil).value == "gp2gp-v3")
        #expect(throws: KitError.self) { try config.workflows.accepted("medication") }
    }

    @Test func aDescriptionWrittenBySendReadsBackTheSame() throws {
        let workflows = WorkflowSettings()
        for subject in ["", "Reception: Ada Testperson", #"quotes "and" \ backslashes # not a comment"#, "Réception — סיכום"] {
            let context = PackContext(subject: subject, workflow: try Workflow("reception-summary"),
                                      nhsNumbers: ["9990000018", "9990000026"])
            #expect(try PackSidecar.parse(Array(PackSidecar.text(for: context).utf8), workflows: workflows) == context)
        }
        // Every key is optional: an empty description is the default workflow and nothing else.
        #expect(try PackSidecar.parse([], workflows: workflows) == PackContext())
        // NHS numbers as people write them.
        let spaced = try PackSidecar.parse(Array("nhs_numbers = [\"999 000 0018\", \"999-000-0026\"]".utf8), workflows: workflows)
        #expect(spaced.nhsNumbers == ["9990000018", "9990000026"])
    }

    @Test func aDescriptionThatIsNotTextOrTooLongIsRefused() {
        let workflows = WorkflowSettings()
        #expect(throws: KitError.self) { try PackSidecar.parse([0x73, 0xFF], workflows: workflows) }
        let long = Array("subject = \"\(String(repeating: "x", count: PackSidecar.maxLength))\"".utf8)
        #expect(throws: KitError.self) { try PackSidecar.parse(long, workflows: workflows) }
        let numbers = (0..<65).map { _ in "\"9990000018\"" }.joined(separator: ", ")
        do {
            _ = try PackSidecar.parse(Array("nhs_numbers = [\(numbers)]".utf8), workflows: workflows)
            Issue.record("65 NHS numbers accepted")
        } catch {
            #expect(error.message.contains("at most 64"), "\(error.message)")
        }
    }

    @Test func timesAreAbsoluteOrHowLongAgo() {
        let now: UInt64 = 1_795_599_000  // 2026-11-25T09:30:00Z
        #expect(PointInTime.parse("2026-11-25T09:00:00Z", now: now) == 1_795_597_200)
        #expect(PointInTime.parse("1h", now: now) == now - 3600)
        #expect(PointInTime.parse("2h ago", now: now) == now - 7200)
        #expect(PointInTime.parse("90s", now: now) == now - 90)
        #expect(PointInTime.parse("7d", now: now) == now - 7 * 86_400)
        #expect(PointInTime.parse("100000d", now: 5) == 0)
        for bad in ["yesterday", "1 h", "-1h", "1h ago ago", "2026-11-25", "0s", ""] {
            #expect(PointInTime.parse(bad, now: now) == nil, "\(bad)")
        }
    }

    @Test func nhsNumberErrorsSayWhatIsWrong() {
        #expect(NHSNumber.invalidMessage("9990000019").hasSuffix("its check digit (the last) should be 8, not 9"))
        #expect(NHSNumber.invalidMessage("99900000").contains("must be ten digits"))
        #expect(NHSNumber.invalidMessage("999000001x").contains("must be ten digits"))
        // 999000000: the weighted sum leaves 1, so the check digit would be 10: no number fits.
        #expect(NHSNumber.invalidMessage("9990000000").contains("no check digit fits"))
    }
}
