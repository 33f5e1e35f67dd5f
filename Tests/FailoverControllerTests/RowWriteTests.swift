import Testing

@testable import FailoverController

/// Issue 16: a standby's read writes its row every other read, and at once when its report changes.
@Suite("A standby writes its row every other read")
struct RowWriteTests {
    func writes(_ call: LeaseCall?) -> Bool? {
        if case .observe(_, _, _, let write)? = call { return write }
        return nil
    }

    @Test("reads every interval: write, read, write, read…; a changed report writes at once")
    func everyOtherRead() {
        var driver = Driver(node: "b")
        driver.feed(.tick, at: 0)
        #expect(writes(driver.callInFlight) == true, "the first read (starting) writes")
        driver.answer(activeView(1, 1), at: 10)
        var pattern: [Bool] = []
        for (index, at) in stride(from: 1_000, through: 6_000, by: 1_000).enumerated() {
            driver.feed(.tick, at: at)
            pattern.append(writes(driver.callInFlight) ?? false)
            driver.answer(activeView(1, Int64(2 + index)), at: at + 10)
        }
        #expect(pattern == [false, true, false, true, false, true])
        // The host prerequisites fail: the report changes (not eligible), so the next read writes.
        driver.feed(.hostChecked(problems: ["vip.interface: 'eth9' does not exist"]), at: 6_500)
        driver.feed(.tick, at: 7_000)
        #expect(writes(driver.callInFlight) == true)
    }
}
