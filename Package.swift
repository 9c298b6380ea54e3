// swift-tools-version: 6.0
import PackageDescription

// gadugi runs on Linux only: Linux 5.3 or later (inotify, pidfd_open, renameat2 with
// RENAME_NOREPLACE, F_SETLEASE), git 2.38 or later, and libinotifytools (libinotifytools0-dev to
// build, libinotifytools0 to run). `platforms` can only set minimum versions of Apple platforms,
// none of which can build it (no inotify, no pidfd), so it lists none.
let package = Package(
    name: "gadugi",
    products: [
        .executable(name: "gadugi", targets: ["gadugi"]),
        .library(name: "GadugiCore", targets: ["GadugiCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // Colour for `gadugi watch` (honours NO_COLOR; `Rainbow.enabled` is set from the terminal).
        .package(url: "https://github.com/onevcat/Rainbow", exact: "4.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CInotifyTools",
            providers: [.apt(["libinotifytools0-dev"])]
        ),
        .target(
            name: "GadugiCore",
            dependencies: [
                "CInotifyTools",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Rainbow", package: "Rainbow"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "gadugi",
            dependencies: [
                "GadugiCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `make bench-json`: gadugi's JSON encoder against Foundation's (BENCHMARKS.md).
        .executableTarget(
            name: "gadugi-json-bench",
            dependencies: ["GadugiCore"],
            path: "Benchmarks/JSONEncoding"
        ),
        .testTarget(
            name: "GadugiCoreTests",
            dependencies: ["GadugiCore", .product(name: "SystemPackage", package: "swift-system"),
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "Rainbow", package: "Rainbow")]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["gadugi", "GadugiCore",
                           .product(name: "PropertyBased", package: "swift-property-based")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
