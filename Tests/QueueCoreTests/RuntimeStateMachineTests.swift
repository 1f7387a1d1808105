import Foundation
@testable import QueueCore
import Testing

/// The runtime's decisions, without a database and without sleeping: time is passed in
/// as instants of a monotonic clock.
@Suite("Runtime state machine")
struct RuntimeStateMachineTests {
    static let t0 = ContinuousClock.now

    static func at(_ seconds: Double) -> ContinuousClock.Instant { t0 + .milliseconds(Int64(seconds * 1_000)) }

    static func machine(slots: Int = 2, prefetch: Int = 128, lease: Duration = .seconds(30),
                        horizon: Bool = false, configure: (inout JobRuntimeConfiguration) -> Void = { _ in }) -> RuntimeStateMachine {
        var configuration = JobRuntimeConfiguration(queues: ["q"], slots: slots)
        configuration.prefetch = prefetch
        configuration.lease = lease
        configuration.retryStrategy = .constant(.seconds(1))
        if horizon { configuration.onLeaseHorizon = { _ in } }
        configure(&configuration)
        return RuntimeStateMachine(configuration: configuration)
    }

    /// Claims `jobs` at `time` (asking for more than that, so the claim is not full).
    static func claim(_ machine: inout RuntimeStateMachine, _ jobs: [Job], at time: Double = 0) -> [RuntimeAction] {
        machine.claimed(jobs, limit: jobs.count + 1, leasedAt: at(time), at: at(time))
    }

    static func limit(_ decision: RuntimeStateMachine.FetchDecision) -> Int? {
        if case .claim(let limit, _) = decision { return limit }
        return nil
    }

    // MARK: Prefetch

    @Test("prefetch: slots plus about prefetchWindow of work per slot at the average duration, between 1 and prefetch",
          arguments: [
              // (slots, prefetch cap, average handler seconds or nil, expected claim limit)
              (2, 128, nil as Double?, 4),        // no history: one prefetched job per slot
              (4, 128, 0.001, 4 + 128),           // 1 ms jobs: 200 per slot, capped at 128
              (4, 128, 0.01, 4 + 20),             // 10 ms jobs: 5 per slot
              (4, 128, 10.0, 4 + 1),              // slow jobs: at least one ahead
          ] as [(Int, Int, Double?, Int)])
    func prefetchIsSizedByTheAverageDuration(slots: Int, cap: Int, average: Double?, expected: Int) {
        var machine = Self.machine(slots: slots, prefetch: cap)
        if let average {
            // One job run for `average` seconds seeds the moving average.
            let job = Job(id: 1)
            _ = Self.claim(&machine, [job])
            _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(average))
            _ = machine.commitSucceeded([machine.pending[0]], completed: [job.lease], failedStates: [:])
        }
        #expect(Self.limit(machine.fetchDue()) == min(expected, machine.configuration.fetchLimit))
    }

    @Test("prefetched jobs wait for a slot and start, oldest first, as soon as a handler returns")
    func prefetchedJobsStartWhenASlotFrees() {
        var machine = Self.machine(slots: 1)
        let jobs = (1...3).map { Job(id: $0) }
        let actions = Self.claim(&machine, jobs)
        #expect(actions.started == [1])
        #expect(machine.waiting == [jobs[1].lease, jobs[2].lease])
        #expect(machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1)).started == [2])
        #expect(machine.handlerReturned(jobs[1].lease, .success(.completed), at: Self.at(2)).started == [3])
        #expect(machine.pending.map(\.job.id) == [1, 2])
    }

    @Test("a full claim claims again at once; a claim that comes back short waits for a wake-up")
    func fullClaimsClaimAgain() {
        var machine = Self.machine(slots: 4)
        let full = machine.claimed([Job(id: 1), Job(id: 2)], limit: 2, leasedAt: Self.at(0), at: Self.at(0))
        #expect(full.wakesFetcher)
        #expect(machine.mode == .saturated)
        let short = machine.claimed([Job(id: 3)], limit: 2, leasedAt: Self.at(0), at: Self.at(0))
        #expect(!short.wakesFetcher)
        #expect(machine.mode == .polling)
    }

    @Test("with every slot busy and the buffer more than half full, claiming waits; a slot freed below half wakes the fetcher")
    func saturationPausesClaiming() {
        var machine = Self.machine(slots: 1)       // prefetch 1 (no history): capacity 2
        let jobs = (1...3).map { Job(id: $0) }
        _ = Self.claim(&machine, jobs)
        guard case .wait = machine.fetchDue() else { Issue.record("should wait"); return }
        #expect(machine.mode == .saturated)
        let actions = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1))
        #expect(actions.started == [2])
        #expect(!actions.wakesFetcher, "one job still waits: more than half the prefetch of 1")
        #expect(machine.handlerReturned(jobs[1].lease, .success(.completed), at: Self.at(2)).wakesFetcher)
    }

    @Test("outcomes piling up uncommitted pause claiming (backlogged) until a commit goes through")
    func backlogPausesClaiming() {
        var machine = Self.machine(slots: 1, prefetch: 1)
        let jobs = (1...9).map { Job(id: $0) }
        for job in jobs {
            _ = Self.claim(&machine, [job])
            _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(0.001))
        }
        guard case .wait = machine.fetchDue() else { Issue.record("should wait"); return }
        #expect(machine.mode == .backlogged)
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        #expect(batch.map(\.job.id) == Array(1...9))
        #expect(machine.commitSucceeded(batch, completed: Set(jobs.map(\.lease)), failedStates: [:]).wakesFetcher)
        #expect(Self.limit(machine.fetchDue()) != nil)
        #expect(machine.statistics.completed == 9)
    }

    @Test("no queues: a maintenance-only runtime never claims")
    func maintenanceOnlyNeverClaims() {
        var machine = Self.machine { $0.queues = [] }
        guard case .wait = machine.fetchDue() else { Issue.record("should wait"); return }
    }

    @Test("queues rotate from one claim to the next so that none starves")
    func queuesRotate() {
        var machine = Self.machine { $0.queues = ["a", "b", "c"] }
        var orders: [[String]] = []
        for _ in 0..<3 {
            if case .claim(_, let queues) = machine.fetchDue() { orders.append(queues) }
        }
        #expect(orders == [["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]])
    }

    // MARK: Outcomes and commits

    @Test("handler results become outcomes", arguments: [
        (.success(.completed(result: "{}")), "complete"),
        (.success(.snooze(.seconds(5))), "snooze"),
        (.success(.cancel(reason: "no")), "cancel"),
        (.success(.discard(reason: "bad")), "discard"),
        (.failure(CancellationError()), "fail"),
    ] as [(Result<JobOutcome, any Error>, String)])
    func handlerResultsBecomeOutcomes(result: Result<JobOutcome, any Error>, expected: String) {
        var machine = Self.machine()
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        let actions = machine.handlerReturned(job.lease, result, at: Self.at(1))
        #expect(actions.contains { if case .wakeFlusher = $0 { true } else { false } })
        #expect(machine.pending.map(\.kind.name) == [expected])
        #expect(machine.pending.first?.duration == 1)
        #expect(machine.held[job.lease]?.phase == .reported, "held (and heartbeated) until committed")
    }

    @Test("a batch that could not be committed goes back to the front, in order, ahead of newer outcomes")
    func failedCommitsAreRetriedInOrder() {
        var machine = Self.machine(slots: 3)
        let jobs = (1...3).map { Job(id: $0) }
        _ = Self.claim(&machine, jobs)
        _ = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1))
        _ = machine.handlerReturned(jobs[1].lease, .success(.completed), at: Self.at(1))
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        _ = machine.handlerReturned(jobs[2].lease, .success(.completed), at: Self.at(2))
        machine.commitFailed(batch)
        guard case .commit(let again) = machine.commitDue() else { Issue.record("should commit"); return }
        #expect(again.map(\.job.id) == [1, 2, 3])
    }

    @Test("outcomes the database refuses (lease lost before commit) are counted as lost, not completed")
    func refusedOutcomesAreCounted() {
        var machine = Self.machine()
        let jobs = [Job(id: 1), Job(id: 2)]
        _ = Self.claim(&machine, jobs)
        _ = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1))
        _ = machine.handlerReturned(jobs[1].lease, .failure(CancellationError()), at: Self.at(1))
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        let actions = machine.commitSucceeded(batch, completed: [], failedStates: [jobs[1].lease: .retryable])
        #expect(actions.contains { if case .outcomesRefused(1) = $0 { true } else { false } })
        #expect(machine.statistics.leaseLost == 1 && machine.statistics.failed == 1)
        #expect(machine.isSettled)
    }

    // MARK: Heartbeat and lease loss

    @Test("the heartbeat extends every held lease, running, waiting or awaiting commit, from before its statement")
    func heartbeatExtendsHeldLeases() {
        var machine = Self.machine(slots: 1, lease: .seconds(10))
        let jobs = [Job(id: 1), Job(id: 2), Job(id: 3)]
        _ = Self.claim(&machine, jobs)
        _ = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1))   // 1 reported, 2 runs, 3 waits
        let sent = machine.heartbeatDue()
        #expect(Set(sent) == Set(jobs.map(\.lease)))
        let actions = machine.heartbeatAnswered(sent: sent, kept: [1, 2, 3], leasedAt: Self.at(5), at: Self.at(5.1))
        #expect(actions.cancelled.isEmpty)
        #expect(machine.held[jobs[1].lease]?.leaseUntil == Self.at(15))
        #expect(machine.fenceTick(at: Self.at(9)).cancelled.isEmpty, "renewed: not fenced at the old lease's end")
    }

    @Test("a lease missing from the heartbeat's answer is lost: a running handler is cancelled and its outcome dropped, a waiting job never starts")
    func lostLeasesAreCancelledAndDropped() {
        var machine = Self.machine(slots: 1)
        let jobs = [Job(id: 1), Job(id: 2)]
        _ = Self.claim(&machine, jobs)
        let sent = machine.heartbeatDue()
        let actions = machine.heartbeatAnswered(sent: sent, kept: [], leasedAt: Self.at(1), at: Self.at(1))
        #expect(Set(actions.cancelled.map(\.0)) == Set(jobs.map(\.lease)))
        #expect(actions.cancelled.allSatisfy { $0.1 == .leaseLost })
        #expect(machine.waiting.isEmpty)
        let returned = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(2))
        #expect(returned.started.isEmpty, "the lost waiting job is not started")
        #expect(returned.contains { if case .outcomeDropped(_, .leaseLost) = $0 { true } else { false } })
        #expect(machine.pending.isEmpty && machine.isSettled)
    }

    @Test("a lease completed between the heartbeat's snapshot and its answer is left alone")
    func leaseCommittedDuringHeartbeatIsLeftAlone() {
        var machine = Self.machine()
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        let sent = machine.heartbeatDue()
        _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(1))
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        _ = machine.commitSucceeded(batch, completed: [job.lease], failedStates: [:])
        #expect(machine.heartbeatAnswered(sent: sent, kept: [], leasedAt: Self.at(1), at: Self.at(1)).cancelled.map(\.0) == [])
        #expect(machine.statistics.completed == 1)
    }

    // MARK: The same job rescued and claimed again by this process

    @Test("a job rescued and claimed again here: the old attempt is cancelled as lost, the new one runs once and keeps its heartbeat")
    func rescuedAndReclaimedJobRunsOnce() {
        var machine = Self.machine(slots: 2)
        let first = Job(id: 7, attempt: 1)
        _ = Self.claim(&machine, [first])
        let second = Job(id: 7, attempt: 2)          // same id, new lease token
        let actions = Self.claim(&machine, [second], at: 40)
        #expect(actions.cancelled.map(\.0) == [first.lease])
        #expect(actions.cancelled.map(\.1) == [.leaseLost])
        #expect(actions.started == [7])
        #expect(machine.busySlots == 2, "both handlers hold a slot until they return")
        #expect(machine.heartbeatDue() == [second.lease], "only the live attempt is heartbeated")
        // The old handler returns: its outcome is dropped, the new attempt is untouched.
        let returned = machine.handlerReturned(first.lease, .success(.completed), at: Self.at(41))
        #expect(returned.started.isEmpty)
        #expect(machine.pending.isEmpty)
        #expect(machine.held[second.lease]?.phase == .running)
        #expect(machine.heartbeatDue() == [second.lease])
        _ = machine.handlerReturned(second.lease, .success(.completed), at: Self.at(42))
        #expect(machine.pending.map(\.job.lease) == [second.lease])
    }

    @Test("a heartbeat sent for the old lease and answered after the re-claim cancels only the old attempt")
    func staleHeartbeatCancelsOnlyTheOldAttempt() {
        var machine = Self.machine(slots: 2)
        let first = Job(id: 7)
        _ = Self.claim(&machine, [first])
        let sent = machine.heartbeatDue()
        let second = Job(id: 7, attempt: 2)
        _ = Self.claim(&machine, [second], at: 40)
        let actions = machine.heartbeatAnswered(sent: sent, kept: [], leasedAt: Self.at(40), at: Self.at(40.1))
        #expect(actions.cancelled.map(\.0) == [first.lease])
        #expect(machine.held[second.lease]?.cancelReason == nil)
        #expect(machine.heartbeatDue() == [second.lease])
    }

    @Test("a job re-claimed while its old lease was still prefetched starts once, under the new lease")
    func reclaimedPrefetchedJobStartsOnce() {
        var machine = Self.machine(slots: 1)
        let busy = Job(id: 1)
        let first = Job(id: 7)
        _ = Self.claim(&machine, [busy, first])
        let second = Job(id: 7, attempt: 2)
        _ = Self.claim(&machine, [second], at: 40)
        #expect(machine.waiting == [second.lease])
        #expect(machine.handlerReturned(busy.lease, .success(.completed), at: Self.at(41)).startedLeases == [second.lease])
    }

    // MARK: Self-fencing

    @Test("self-fencing: a lease not renewed is cancelled at its end less the margin, not before", arguments: [
        (24.9, false), (25.0, true), (29.0, true),
    ])
    func unrenewedLeasesAreFenced(now: Double, fenced: Bool) {
        var machine = Self.machine(lease: .seconds(30)) { $0.selfFenceMargin = .seconds(5) }
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        let actions = machine.fenceTick(at: Self.at(now))
        #expect(actions.cancelled.map(\.1) == (fenced ? [.fenced] : []))
        #expect(machine.statistics.fenced == (fenced ? 1 : 0))
        if fenced {
            let returned = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(now + 1))
            #expect(returned.contains { if case .outcomeDropped(_, .fenced) = $0 { true } else { false } })
            #expect(machine.pending.isEmpty, "a fenced attempt's outcome is never committed")
        }
    }

    @Test("a job whose outcome waits for commit is not fenced: its handler is already done")
    func reportedJobsAreNotFenced() {
        var machine = Self.machine { $0.selfFenceMargin = .seconds(5) }
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(1))
        #expect(machine.fenceTick(at: Self.at(29)).cancelled.isEmpty)
    }

    @Test("the lease horizon is the earliest running lease's end less the margin, newer publications numbered higher, nil when nothing runs")
    func leaseHorizonIsPublishedInOrder() {
        var machine = Self.machine(slots: 2, lease: .seconds(30), horizon: true) { $0.selfFenceMargin = .seconds(5) }
        let jobs = [Job(id: 1), Job(id: 2)]
        let claimed = Self.claim(&machine, jobs)
        #expect(claimed.horizons.map(\.0) == [Self.at(25)])
        let renewed = machine.heartbeatAnswered(sent: [jobs[0].lease], kept: [1], leasedAt: Self.at(10), at: Self.at(10))
        #expect(renewed.horizons.map(\.0) == [Self.at(25)], "job 2 is still due first")
        #expect(renewed.horizons[0].1 > claimed.horizons[0].1)
        _ = machine.handlerReturned(jobs[1].lease, .success(.completed), at: Self.at(11))
        _ = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(11))
        #expect(machine.leaseHorizon == nil)
        #expect(machine.horizonCleared().horizons.map(\.0) == [nil])
    }

    // MARK: Time limits

    @Test("time limit: the attempt fails at once, the handler is cancelled, and its slot stays busy until it returns")
    func timeLimitFailsAndKeepsTheSlot() {
        var machine = Self.machine(slots: 1)
        let job = Job(id: 1, timeLimit: .seconds(2))
        let next = Job(id: 2)
        _ = Self.claim(&machine, [job, next])
        let actions = machine.timeLimitHit(job.lease, at: Self.at(2))
        #expect(actions.cancelled.map(\.1) == [.timeLimit])
        #expect(actions.started.isEmpty)
        #expect(machine.pending.map(\.kind.name) == ["fail"])
        if case .fail(let error, _, false) = machine.pending.first?.kind { #expect(error == "time limit exceeded after 2 s") }
        #expect(machine.statistics.timedOut == 1)
        // Committed before the handler returns: the slot is still taken.
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        _ = machine.commitSucceeded(batch, completed: [], failedStates: [job.lease: .retryable])
        #expect(machine.busySlots == 1)
        #expect(machine.statistics(at: Self.at(4)).stuckHandlers == 0, "given up on 2 s ago: not stuck yet")
        #expect(machine.statistics(at: Self.at(5.5)).stuckHandlers == 1, "given up on more than 3 s ago")
        let returned = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(6))
        #expect(returned.started == [2])
        #expect(machine.pending.isEmpty, "its late result is ignored")
        #expect(machine.statistics(at: Self.at(6)).stuckHandlers == 0)
    }

    // MARK: Waiting for an event or a time

    @Test("a handler that waits reports a wait and frees its slot at once: the next prefetched job starts")
    func waitFreesTheSlot() {
        var machine = Self.machine(slots: 1)
        let jobs = [Job(id: 1), Job(id: 2)]
        _ = Self.claim(&machine, jobs)
        let until = Date().addingTimeInterval(3_600)
        let returned = machine.handlerReturned(jobs[0].lease, .success(.wait(for: "order:7", until: until)), at: Self.at(1))
        #expect(returned.started == [2], "the waiting job does not hold the slot")
        #expect(machine.busySlots == 1)
        guard case .wait(let key, let deadline)? = machine.pending.first?.kind else { Issue.record("should report a wait"); return }
        #expect(key == "order:7")
        #expect(deadline == until)
    }

    @Test("a committed wait releases the lease (no more heartbeats for it) and counts as waited, not completed")
    func committedWaitReleasesTheLease() {
        var machine = Self.machine(slots: 2)
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        _ = machine.handlerReturned(job.lease, .success(.wait(for: "k")), at: Self.at(1))
        #expect(machine.heartbeatDue() == [job.lease], "until committed, the lease is still the runtime's to keep")
        guard case .commit(let batch) = machine.commitDue() else { Issue.record("should commit"); return }
        _ = machine.commitSucceeded(batch, completed: [], failedStates: [:])
        #expect(machine.heartbeatDue().isEmpty)
        #expect(machine.isSettled)
        #expect(machine.statistics.waited == 1)
        #expect(machine.statistics.completed == 0)
        #expect(machine.statistics.leaseLost == 0)
    }

    @Test("a wait key the database would refuse fails the attempt instead of the batch", arguments: ["", String(repeating: "k", count: 513)])
    func invalidWaitKeyFailsTheAttempt(key: String) {
        var machine = Self.machine(slots: 1)
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        let returned = machine.handlerReturned(job.lease, .success(.wait(for: key)), at: Self.at(1))
        #expect(returned.contains { if case .attemptFailed = $0 { true } else { false } })
        guard case .fail(let error, _, false)? = machine.pending.first?.kind else { Issue.record("should fail the attempt"); return }
        #expect(error.contains("invalid wait"))
    }

    @Test("a wait decided too late changes nothing: after the time limit the attempt has failed; after shutdown's grace the job is given back; after a lost lease it is dropped")
    func lateWaits() {
        // Time limit first: the failure stands, the later wait only frees the slot.
        var limited = Self.machine(slots: 1)
        let slow = Job(id: 1, timeLimit: .seconds(2))
        _ = Self.claim(&limited, [slow])
        _ = limited.timeLimitHit(slow.lease, at: Self.at(2))
        _ = limited.handlerReturned(slow.lease, .success(.wait(for: "k")), at: Self.at(3))
        #expect(limited.pending.map(\.kind.name) == ["fail"])
        #expect(limited.busySlots == 0)

        // Shutdown's grace over: given back, not waiting.
        var draining = Self.machine(slots: 1)
        let running = Job(id: 2)
        _ = Self.claim(&draining, [running])
        _ = draining.shutdownRequested()
        _ = draining.graceExpired(at: Self.at(30))
        _ = draining.handlerReturned(running.lease, .success(.wait(for: "k")), at: Self.at(31))
        #expect(draining.pending.map(\.kind.name) == ["giveBack"])

        // Lease lost: nothing to commit.
        var lost = Self.machine(slots: 1)
        let rescued = Job(id: 3)
        _ = Self.claim(&lost, [rescued])
        _ = lost.heartbeatAnswered(sent: [rescued.lease], kept: [], leasedAt: Self.at(10), at: Self.at(10))
        let dropped = lost.handlerReturned(rescued.lease, .success(.wait(for: "k")), at: Self.at(11))
        #expect(lost.pending.isEmpty)
        #expect(dropped.contains { if case .outcomeDropped = $0 { true } else { false } })
    }

    @Test("a woken job's handler sees how its wait ended")
    func wokenJobCarriesItsWakeup() {
        var machine = Self.machine(slots: 1)
        let woken = Job(id: 1, wakeup: JobWakeup(key: "order:7", reason: .signal, data: #"{"paid": true}"#))
        let actions = Self.claim(&machine, [woken])
        let started = actions.compactMap { if case .start(let job) = $0 { job } else { nil } }
        #expect(started.first?.wakeup == JobWakeup(key: "order:7", reason: .signal, data: #"{"paid": true}"#))
    }

    // MARK: Shutdown

    @Test("shutdown: claiming stops, waiting jobs never start, a handler finishing within the grace period commits normally")
    func shutdownLetsRunningJobsFinish() {
        var machine = Self.machine(slots: 1)
        let jobs = [Job(id: 1), Job(id: 2)]
        _ = Self.claim(&machine, jobs)
        _ = machine.shutdownRequested()
        guard case .stop = machine.fetchDue() else { Issue.record("should stop claiming"); return }
        #expect(machine.mode == .draining)
        let returned = machine.handlerReturned(jobs[0].lease, .success(.completed), at: Self.at(1))
        #expect(returned.started.isEmpty)
        #expect(machine.pending.map(\.kind.name) == ["complete"])
        let expired = machine.graceExpired(at: Self.at(30))
        #expect(expired.cancelled.isEmpty, "nothing runs any more")
        #expect(machine.pending.map(\.kind.name) == ["complete", "giveBack"])
    }

    @Test("a shutdown waits for the answer of a claim in flight: its jobs, already running in the database, are given back")
    func shutdownWaitsForAClaimInFlight() {
        var machine = Self.machine(slots: 2)
        guard case .claim(let limit, _) = machine.fetchDue() else { Issue.record("should claim"); return }
        _ = machine.shutdownRequested()
        #expect(!machine.isSettled, "the claim's jobs are running in the database; exiting now would leave them to lapse")
        _ = machine.graceExpired(at: Self.at(30))
        #expect(!machine.isSettled)
        let jobs = [Job(id: 1), Job(id: 2)]
        let answered = machine.claimed(jobs, limit: limit, leasedAt: Self.at(0), at: Self.at(31))
        #expect(answered.started.isEmpty, "nothing starts after the grace period")
        #expect(machine.pending.map(\.kind.name) == ["giveBack", "giveBack"])
        // A claim that failed settles too.
        var failing = Self.machine(slots: 2)
        _ = failing.fetchDue()
        _ = failing.shutdownRequested()
        #expect(!failing.isSettled)
        _ = failing.claimFailed()
        #expect(failing.isSettled)
    }

    /// How a handler ends during shutdown, and what is committed for it.
    enum Ending: String, CaseIterable, Sendable {
        case finishesInGrace, returnsWhenCancelled, ignoresCancellation, timedOutBefore, lostBefore
    }

    @Test("shutdown orderings: what each handler's ending commits", arguments: [
        (Ending.finishesInGrace, ["complete"]),
        (.returnsWhenCancelled, ["giveBack"]),
        (.ignoresCancellation, ["giveBack"]),
        (.timedOutBefore, ["fail"]),
        (.lostBefore, []),
    ])
    func shutdownOrderings(ending: Ending, committed: [String]) {
        var machine = Self.machine(slots: 1)
        let job = Job(id: 1, timeLimit: .seconds(5))
        _ = Self.claim(&machine, [job])
        switch ending {
        case .timedOutBefore: _ = machine.timeLimitHit(job.lease, at: Self.at(5))
        case .lostBefore: _ = machine.heartbeatAnswered(sent: [job.lease], kept: [], leasedAt: Self.at(1), at: Self.at(1))
        default: break
        }
        _ = machine.shutdownRequested()
        if ending == .finishesInGrace { _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(6)) }
        let expired = machine.graceExpired(at: Self.at(36))
        let stillRunning = ending == .returnsWhenCancelled || ending == .ignoresCancellation
        #expect(expired.cancelled.map(\.1) == (stillRunning ? [.shutdown] : []))
        switch ending {
        case .returnsWhenCancelled:
            _ = machine.handlerReturned(job.lease, .failure(CancellationError()), at: Self.at(37))
        case .ignoresCancellation, .timedOutBefore, .lostBefore:
            _ = machine.handlersAbandoned(at: Self.at(41))
        case .finishesInGrace:
            break
        }
        #expect(machine.pending.map(\.kind.name) == committed)
        guard case .commit(let batch) = committed.isEmpty ? RuntimeStateMachine.CommitDecision.wait : machine.commitDue() else {
            #expect(machine.isSettled)
            return
        }
        _ = machine.commitSucceeded(batch, completed: [job.lease], failedStates: [job.lease: .retryable])
        #expect(machine.isSettled, "nothing left to wait for: shutdown can end")
        #expect(machine.statistics.givenBack == (committed == ["giveBack"] ? 1 : 0))
        _ = machine.stopped()
        guard case .stop = machine.commitDue() else { Issue.record("the flusher should end"); return }
    }

    @Test("a claim answered after the grace period ended is given back at once, never started")
    func lateClaimIsGivenBack() {
        var machine = Self.machine(slots: 2)
        _ = machine.shutdownRequested()
        _ = machine.graceExpired(at: Self.at(30))
        let actions = Self.claim(&machine, [Job(id: 1)], at: 31)
        #expect(actions.started.isEmpty)
        #expect(machine.pending.map(\.kind.name) == ["giveBack"])
    }

    @Test("a handler that returns after being given back only frees its slot")
    func abandonedHandlerReturnsLate() {
        var machine = Self.machine(slots: 1)
        let job = Job(id: 1)
        _ = Self.claim(&machine, [job])
        _ = machine.shutdownRequested()
        _ = machine.graceExpired(at: Self.at(30))
        _ = machine.handlersAbandoned(at: Self.at(35))
        #expect(machine.pending.count == 1)
        _ = machine.handlerReturned(job.lease, .success(.completed), at: Self.at(50))
        #expect(machine.pending.count == 1 && machine.busySlots == 0)
    }
}

extension [RuntimeAction] {
    var startedLeases: [JobLease] { compactMap { if case .start(let job) = $0 { job.lease } else { nil } } }
    var started: [Int64] { startedLeases.map(\.id) }
    var cancelled: [(JobLease, CancelReason)] {
        flatMap { action -> [(JobLease, CancelReason)] in
            if case .cancel(let leases, let reason) = action { leases.map { ($0, reason) } } else { [] }
        }
    }
    var wakesFetcher: Bool { contains { if case .wakeFetcher = $0 { true } else { false } } }
    var horizons: [(ContinuousClock.Instant?, UInt64)] {
        compactMap { if case .publishHorizon(let horizon, let version) = $0 { (horizon, version) } else { nil } }
    }
}

extension OutcomeReport.Kind {
    var name: String {
        switch self {
        case .complete: "complete"
        case .fail(_, _, true): "discard"
        case .fail: "fail"
        case .snooze: "snooze"
        case .wait: "wait"
        case .cancel: "cancel"
        case .giveBack: "giveBack"
        }
    }
}
