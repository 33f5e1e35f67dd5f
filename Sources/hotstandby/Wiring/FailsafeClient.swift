import Alerts
import FailoverController
import FoundationEssentials
import Glibc
import HotStandbyCore
import Operator

/// Sends the active's failsafe beats (issue 18): a signed `POST /failsafe/beat` to each member's `http.advertise`,
/// each within the round's deadline; the answer counts only when its signature holds and it names the member and
/// the round that were asked.
struct FailsafeClient: FailsafePeers {
    let wire: FailsafeWire

    func send(_ beat: FailsafeBeat, to member: String, address: String, timeout: Duration) async -> FailsafeReply {
        let outcome = await HTTPPost().post(
            url: address + "/failsafe/beat",
            body: Array(wire.seal(beat)),
            timeout: timeout
        )
        if let error = outcome.error { return .failed("\(address): \(error)") }
        guard outcome.status == 200 else {
            let text = outcome.body.trimmingWhitespace().prefix(200)
            return .failed("\(address) answered HTTP \(outcome.status): \(text)")
        }
        let answer: FailsafeWire.Answer
        do throws(FailsafeWire.Refusal) {
            answer = try wire.open(FailsafeWire.Answer.self, from: Data(outcome.body.utf8))
        } catch {
            return .failed("\(address): the answer is refused: \(error.message)")
        }
        guard answer.node == member, answer.round == beat.round, let verdict = answer.answer else {
            return .failed(
                "\(address): the answer is from \(answer.node) for round \(answer.round), not from \(member) for "
                    + "round \(beat.round)"
            )
        }
        return .answered(verdict)
    }
}
