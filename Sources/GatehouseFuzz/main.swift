// libFuzzer entry point for Gatehouse's parsers. Built only by `make fuzz`
// (GATEHOUSE_FUZZ=1, -sanitize=fuzzer); the parser is chosen with GATEHOUSE_FUZZ_TARGET.
import GatehouseTesting
import Glibc

let target: FuzzHarness.Target = {
    let name = getenv("GATEHOUSE_FUZZ_TARGET").map { String(cString: $0) } ?? "header"
    guard let target = FuzzHarness.Target(rawValue: name) else {
        print("unknown GATEHOUSE_FUZZ_TARGET \(name); one of \(FuzzHarness.Target.allCases.map(\.rawValue))")
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzHarness.run(target, size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

// SwiftPM renames an executable's entry point to `GatehouseFuzz_main` and aliases `main` to it;
// with -parse-as-library there is no Swift entry point, so provide that symbol and hand control
// to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("GatehouseFuzz_main")
public func gatehouseFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput)
}
