// swift-tools-version:6.1
import PackageDescription

// The libFuzzer target links only when built with `-sanitize=fuzzer` (`make fuzz`),
// so it is part of the package only when GATEHOUSE_FUZZ is set.
let fuzzing = Context.environment["GATEHOUSE_FUZZ"] != nil

var targets: [Target] = [
    // C libraries, each imported by exactly one Swift target.
    .systemLibrary(name: "CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
    .systemLibrary(name: "CLibcrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
    .systemLibrary(name: "CLibssl", pkgConfig: "libssl", providers: [.apt(["libssl-dev"])]),
    // QR codes for TOTP enrolment on the web sign-in pages.
    .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
    // Header-only shims for Linux system calls that Swift's Glibc module does not expose.
    .systemLibrary(name: "CSystemShims"),

    /// Primitives: keys, signatures, key agreement, secretstream, SHA-256, DEFLATE (libdeflate, zlib).
    .target(name: "GatehouseCrypto", dependencies: ["CSodium", "CZlib", "CDeflate", "CLibcrypto"]),
    /// The bundle, receipt and identity-card formats. No printing, no exiting, no file policy.
    .target(name: "GatehouseFormat", dependencies: ["GatehouseCrypto"]),
    /// The organisation's home folder: key store, partner store, atomic publication.
    .target(name: "GatehouseKit", dependencies: ["GatehouseFormat", "GatehouseCrypto", "CSystemShims"]),
    /// SFTP version 3 (draft-ietf-secsh-filexfer-02 with OpenSSH's extensions): packets and
    /// attributes, no I/O.
    .target(name: "GatehouseSFTP"),
    /// The SFTP client: a session over a child process (OpenSSH's ssh), file operations, and
    /// the sftp:// mailbox transport.
    .target(name: "GatehouseSFTPClient", dependencies: ["GatehouseSFTP", "GatehouseKit", "GatehouseFormat"]),
    /// The mailbox server side: `gatehouse sftp-server`, confined to the mailbox rules.
    .target(name: "GatehouseRelay", dependencies: ["GatehouseSFTP", "GatehouseKit", "GatehouseFormat", "CSystemShims"]),
    /// The journal: every record's and bundle's state and transitions, in SQLite (GRDB).
    .target(
        name: "GatehouseJournal",
        dependencies: ["GatehouseFormat", .product(name: "GRDB", package: "GRDB.swift")]
    ),
    /// The journal in PostgreSQL (postgres-nio), for a hosted service on several nodes.
    .target(
        name: "GatehouseJournalPostgres",
        dependencies: [
            "GatehouseJournal", "GatehouseFormat", "GatehouseKit", .product(name: "PostgresNIO", package: "postgres-nio"),
        ]
    ),
    /// Notifications (`[notify]`): events, their durable queue, the command and HTTP(S) webhook targets.
    .target(
        name: "GatehouseNotify",
        dependencies: ["GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "CLibssl",
                       .product(name: "Logging", package: "swift-log")]
    ),
    /// The gateway daemon: spool watcher, packager, dispatcher, collector, as services.
    .target(
        name: "GatehouseDaemon",
        dependencies: [
            "GatehouseKit", "GatehouseJournal", "GatehouseJournalPostgres", "GatehouseFormat", "GatehouseCrypto",
            "GatehouseSFTPClient", "GatehouseNotify",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]
    ),
    /// Command-line interface.
    .target(
        name: "GatehouseCLI",
        dependencies: [
            "GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseJournal", "GatehouseDaemon", "GatehouseRelay", "GatehouseSFTPClient",
            "GatehouseNotify", "GatehouseWeb", "GatehouseWitness",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]
    ),
    /// The staff web application (`gatehouse web`): accounts, sign-in, inbox, send and outgoing pages.
    .target(
        name: "GatehouseWeb",
        dependencies: [
            "GatehouseKit", "GatehouseJournal", "GatehouseFormat", "GatehouseCrypto", "GatehouseDaemon", "CQRencode",
            .product(name: "Hummingbird", package: "hummingbird"),
            // HTTPS inside `gatehouse web` ([web] tls_certificate), and `gatehouse web cert`.
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    /// The C2SP tlog-witness HTTP API (`gatehouse network witness serve`).
    .target(
        name: "GatehouseWitness",
        dependencies: [
            "GatehouseKit", "GatehouseFormat", "GatehouseCrypto",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .executableTarget(name: "gatehouse", dependencies: ["GatehouseCLI"]),

    /// Shared helpers for the test targets.
    .target(name: "GatehouseTesting", dependencies: ["GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseSFTP"], path: "Tests/GatehouseTesting"),
    .testTarget(name: "GatehouseCryptoTests", dependencies: ["GatehouseCrypto", "GatehouseTesting"]),
    // Vectors (docs/vectors) and fuzz regressions are read from the source tree (#filePath), not as resources.
    .testTarget(
        name: "GatehouseFormatTests",
        dependencies: ["GatehouseFormat", "GatehouseCrypto", "GatehouseTesting"],
        exclude: ["FuzzRegressions"]
    ),
    .testTarget(name: "GatehouseKitTests", dependencies: ["GatehouseKit", "GatehouseTesting"]),
    .testTarget(name: "GatehouseSFTPTests", dependencies: ["GatehouseSFTP", "GatehouseSFTPClient", "GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseTesting"]),
    .testTarget(name: "GatehouseRelayTests", dependencies: ["GatehouseRelay", "GatehouseSFTP", "GatehouseKit", "GatehouseFormat", "GatehouseTesting"]),
    .testTarget(
        name: "GatehouseJournalTests",
        dependencies: ["GatehouseJournal", "GatehouseJournalPostgres", "GatehouseKit", "GatehouseFormat", "GatehouseTesting"]
    ),
    .testTarget(
        name: "GatehouseDaemonTests",
        dependencies: ["GatehouseDaemon", "GatehouseNotify", "GatehouseTesting",
                       .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
    ),
    .testTarget(
        name: "GatehouseWitnessTests",
        dependencies: ["GatehouseWitness", "GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseNotify",
                       "GatehouseTesting"]
    ),
    .testTarget(name: "GatehouseNotifyTests", dependencies: ["GatehouseNotify", "GatehouseKit", "GatehouseTesting"]),
    .testTarget(
        name: "GatehouseWebTests",
        dependencies: ["GatehouseWeb", "GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseJournal",
                       "GatehouseDaemon", "GatehouseTesting"]
    ),
    .testTarget(
        name: "GatehouseCLITests",
        dependencies: [
            "GatehouseCLI", "GatehouseKit", "GatehouseFormat", "GatehouseCrypto", "GatehouseJournal", "GatehouseTesting",
        ]
    ),
]

if fuzzing {
    targets.append(.executableTarget(name: "GatehouseFuzz", dependencies: ["GatehouseTesting"]))
}

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatehouse", targets: ["gatehouse"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // swift-configuration support is not used: the web settings come from gatehouse.toml.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
