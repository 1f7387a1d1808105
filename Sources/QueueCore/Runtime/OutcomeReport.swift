import Foundation

/// One job's outcome waiting to be committed by the completion batcher.
struct OutcomeReport: Sendable {
    enum Kind: Sendable {
        case complete(result: String?)
        case fail(error: String, retryDelay: Duration, discard: Bool)
        case snooze(Duration)
        case wait(key: String, until: Date?)
        case cancel(reason: String)
        case giveBack
    }

    let job: Job
    let kind: Kind
    let duration: Double
}
