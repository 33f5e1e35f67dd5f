// swift-tools-version: 6.2
import PackageDescription

/// Settings every first-party target shares: Swift 6 language mode (strict concurrency) and warnings as errors.
/// Warnings-as-errors lives here rather than on the command line so dependencies are not rebuilt with it.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "hotstandby",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hotstandby", targets: ["hotstandby"]),
        .executable(name: "hotstandby-bench", targets: ["hotstandby-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Without its SubprocessFoundation trait: the daemon links FoundationEssentials only.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
        // 4.x: FoundationEssentials on Linux (3.x imports Foundation, and with it ICU).
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // No traits: neither FullFoundation (the URL-encoded form's DateFormatter strategies, unused here) nor
        // swift-configuration support.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // What every module shares: JSONValue and the one Duration text (`250ms`, `5s`, `1m`).
        .target(
            name: "HotStandbyCore",
            swiftSettings: strict
        ),
        .target(
            name: "Heartbeat",
            dependencies: [
                "CLibPQ",
                "HotStandbyCore",
                "FailoverController",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "FailoverController",
            dependencies: [
                "HotStandbyCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Shell",
            dependencies: [
                "HotStandbyCore",
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "VIPManager",
            dependencies: [
                "HotStandbyCore",
                "Shell",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "DNSUpdater",
            dependencies: [
                "HotStandbyCore",
                "Shell",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SharedFolderSync",
            dependencies: [
                "HotStandbyCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // libyaml's loader: the configuration file's parser (Yams would bring Foundation with ICU).
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "Alerts",
            dependencies: [
                "HotStandbyCore",
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The configuration file: the YAML reader and every part's settings, checked in-process by its tests.
        .target(
            name: "HotStandbyConfig",
            dependencies: [
                "HotStandbyCore",
                "FailoverController",
                "Heartbeat",
                "Shell",
                "VIPManager",
                "DNSUpdater",
                "SharedFolderSync",
                "Alerts",
                "CYAML",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // What an operator's tools talk to: HTTP (health, status, the page, metrics), sd_notify, logging.
        .target(
            name: "Operator",
            dependencies: [
                "HotStandbyConfig",
                "FailoverController",
                "Heartbeat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The executable: the subcommands (Commands/) and the wiring of parts to ports (Wiring/).
        .executableTarget(
            name: "hotstandby",
            dependencies: [
                "HotStandbyConfig",
                "Operator",
                "Heartbeat",
                "FailoverController",
                "Shell",
                "VIPManager",
                "DNSUpdater",
                "SharedFolderSync",
                "Alerts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        // The benchmark drivers (bench/lease-load, bench/shared-folder): not in the production binary.
        .executableTarget(
            name: "hotstandby-bench",
            dependencies: [
                "Heartbeat",
                "FailoverController",
                "SharedFolderSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Helpers every test target shares: the environment scripts/test sets, process spawning on
        // posix_spawn (never a pipe a daemon could hold), a free port, the capturing log handler.
        .target(
            name: "TestSupport",
            dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "FailoverControllerTests",
            dependencies: ["FailoverController", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "VIPManagerTests",
            dependencies: ["VIPManager", "Shell", "TestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DNSUpdaterTests",
            dependencies: ["DNSUpdater", "Shell", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AlertsTests",
            dependencies: ["Alerts", "HotStandbyCore", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SharedFolderSyncTests",
            dependencies: ["SharedFolderSync", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HotStandbyConfigTests",
            dependencies: [
                "HotStandbyConfig",
                "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "OperatorTests",
            dependencies: ["TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Heartbeat",
                "FailoverController",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
