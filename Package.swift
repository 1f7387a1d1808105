// swift-tools-version:6.1
import PackageDescription

/// Compiler settings shared by every Swift target: Swift 6 language mode is the
/// package default; these add the upcoming features the style guide asks for.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "TaskForceQueue",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dispatcher", targets: ["Dispatcher"]),
        .executable(name: "worker", targets: ["Worker"]),
        .executable(name: "queue-bench", targets: ["QueueBench"]),
        .library(name: "QueueCore", targets: ["QueueCore"]),
        .library(name: "PostgresClient", targets: ["PostgresClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    ],
    targets: [
        // libpq, the PostgreSQL C client library (Debian: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // A thin, concurrency-safe Swift layer over libpq: connections on their own
        // threads, bound parameters, typed decoding, transactions, LISTEN/NOTIFY, COPY,
        // a bounded pool, and a generic migration runner.
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // OpenCC, traditional ↔ simplified Chinese conversion (Debian: libopencc-dev).
        .systemLibrary(
            name: "COpenCC",
            pkgConfig: "opencc",
            providers: [.apt(["libopencc-dev"])]
        ),
        // The domain: task forces, text normalisation and the routing model, time-limit
        // policy and working calendar. Testable without a database.
        .target(
            name: "TaskForces",
            dependencies: ["COpenCC"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // The case ledger: intake (routing, deadlines, repeated demands), status,
        // reroute, triage, cancel — cases, their events and their jobs in one transaction.
        .target(
            name: "CaseLedger",
            dependencies: ["PostgresClient", "QueueCore", "TaskForces"],
            exclude: ["SQL"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // prctl(2) for the worker (variadic in C, so Swift needs a wrapper): a worker holds
        // the database's password and must not let its handlers read it from /proc.
        .systemLibrary(name: "CProcessControl"),
        // The department worker: case handlers (built-in advisor, external programs),
        // resolutions written with each completion, escalation, deadline enforcement.
        .target(
            name: "CaseWorker",
            dependencies: [
                "CaseLedger", "CProcessControl", "PostgresClient", "QueueCore", "TaskForces",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            exclude: ["SQL"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // Dashboards: the JSON API and self-contained web page over the `dashboard` views,
        // Prometheus metrics, health checks (Hummingbird).
        .target(
            name: "Dashboard",
            dependencies: [
                "PostgresClient", "TaskForces",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["SQL"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // The casework console: a web app for officers, operators and leaders (Hummingbird),
        // each logged in as their own database login, so row-level security decides.
        .target(
            name: "Console",
            dependencies: [
                "CaseLedger", "PostgresClient", "TaskForces",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["SQL"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // The project's schema: migrations/*.sql embedded into the binaries at build time.
        .target(
            name: "Schema",
            dependencies: ["PostgresClient"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        // The generic PostgreSQL job-queue engine (no task-force knowledge).
        .target(
            name: "QueueCore",
            dependencies: [
                "PostgresClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["SQL"],
            swiftSettings: strictSettings,
            plugins: ["EmbedFiles"]
        ),
        .executableTarget(
            name: "Dispatcher",
            dependencies: [
                "PostgresClient", "QueueCore", "Schema", "TaskForces", "CaseLedger", "Dashboard", "Console",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Worker",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                "PostgresClient", "QueueCore", "Schema", "TaskForces", "CaseLedger", "CaseWorker", "Dashboard",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Benchmarks (scripts/bench): enqueue, process, latency, classify, sizes.
        .executableTarget(
            name: "QueueBench",
            dependencies: [
                "PostgresClient", "QueueCore", "Schema", "TaskForces", "CaseLedger", "CaseWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Build-time tool: turns data files (migrations/*.sql, the routing model) into
        // Swift string literals.
        .executableTarget(
            name: "FileEmbedder",
            swiftSettings: strictSettings
        ),
        .plugin(
            name: "EmbedFiles",
            capability: .buildTool(),
            dependencies: ["FileEmbedder"]
        ),
        // Test helpers: a fresh database per suite, cloned from a migrated template.
        .target(
            name: "PostgresTestSupport",
            dependencies: ["PostgresClient", "Schema"],
            path: "Tests/PostgresTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PostgresClientTests",
            // The statement catalogue test reads the SQL of every target that has some.
            dependencies: ["PostgresClient", "Schema", "PostgresTestSupport", "QueueCore", "CaseLedger", "CaseWorker", "Dashboard", "Console"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TaskForcesTests",
            dependencies: ["TaskForces"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CaseLedgerTests",
            dependencies: ["CaseLedger", "TaskForces", "QueueCore", "PostgresClient", "PostgresTestSupport"],
            exclude: ["FuzzCorpus"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "DashboardTests",
            dependencies: [
                "Dashboard", "CaseLedger", "TaskForces", "PostgresClient", "PostgresTestSupport", "Schema",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ConsoleTests",
            dependencies: [
                "Console", "CaseLedger", "TaskForces", "PostgresClient", "PostgresTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        // End-to-end: real `worker` processes against a real database.
        .testTarget(
            name: "WorkerTests",
            dependencies: ["CaseWorker", "CaseLedger", "TaskForces", "QueueCore", "PostgresClient", "PostgresTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "QueueCoreTests",
            dependencies: [
                "QueueCore", "PostgresClient", "Schema", "PostgresTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
