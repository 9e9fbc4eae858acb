// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"]),
]

let package = Package(
    name: "triage",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "triage", targets: ["triage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // triage exporter's HTTP/1 server.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        // libcurl and libpcap: headers only at build time; CTriageShims loads
        // the libraries with dlopen when a step first needs them, because
        // linking libcurl drags ~35 shared libraries (GnuTLS, Kerberos, LDAP…)
        // into every start of triage, including runs that never use HTTP.
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "CTriageShims", dependencies: ["COpenSSL", "CCurl", "CPcap"], linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("z")]),
        .target(name: "CTriageSignals"),
        .target(name: "TriageWire", swiftSettings: strict),
        .target(
            name: "TriageKit",
            dependencies: [
                "TriageWire",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "TriageProbes",
            dependencies: ["TriageKit", "TriageWire", "CTriageShims", "COpenSSL", "CCurl", "CPcap"],
            swiftSettings: strict
        ),
        // scan's scheduler and output rows, the exporter (SwiftNIO HTTP/1 server, fair queue, metrics): callable in process.
        .target(
            name: "TriageFleet",
            dependencies: [
                "TriageKit", "TriageProbes", "TriageWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The embedded demo upstream: certificate minting, its TLS server, an nginx runner.
        .target(
            name: "TriageDemo",
            dependencies: ["TriageKit", "TriageProbes", "COpenSSL", "CTriageShims"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "triage",
            dependencies: [
                "CTriageSignals", "TriageProbes", "TriageKit", "TriageDemo", "TriageFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["exports.map"],
            swiftSettings: strict,
            linkerSettings: [.unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/triage/exports.map"])]
        ),
        // Test-only C: the fixture servers' behaviours and the certificate
        // extensions only tests mint; never linked into triage.
        .target(name: "CTriageTestShims", dependencies: ["COpenSSL", "CTriageShims"], path: "Tests/CTriageTestShims"),
        .target(
            name: "TriageTestSupport",
            dependencies: ["TriageKit", "TriageProbes", "TriageDemo", "COpenSSL", "CTriageShims", "CTriageTestShims"],
            path: "Tests/TriageTestSupport",
            swiftSettings: strict
        ),
        // Built only by scripts/fuzz.sh, with -sanitize=fuzzer (libFuzzer's main).
        .executableTarget(name: "parser-fuzz", dependencies: ["TriageKit", "TriageProbes", "TriageWire", "TriageFleet", "TriageTestSupport"],
                          path: "Benchmarks/ParserFuzz", swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(name: "capture-bench", dependencies: ["TriageWire", "TriageProbes", "TriageDemo"],
                          path: "Benchmarks/CaptureBench", swiftSettings: strict),
        .testTarget(name: "TriageWireTests", dependencies: ["TriageWire"], swiftSettings: strict),
        .testTarget(name: "TriageKitTests", dependencies: ["TriageKit", "TriageWire", "TriageProbes", "TriageTestSupport",
                                                          .product(name: "Yams", package: "Yams")],
                    exclude: ["Golden", "Fixtures"], swiftSettings: strict),
        .testTarget(name: "TriageProbesTests", dependencies: ["TriageProbes", "TriageWire", "TriageFleet", "TriageTestSupport"],
                    swiftSettings: strict),
        .testTarget(name: "TriageCLITests", dependencies: ["TriageTestSupport", "TriageFleet"], exclude: ["Golden"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
