import Foundation

/// How long a failed job waits before its next attempt.
///
/// The delay grows exponentially with the attempt number, is capped, and is spread by
/// random jitter so that jobs that failed together do not retry in lockstep.
public struct RetryStrategy: Sendable, Equatable {
    /// Delay after the first failed attempt.
    public var base: Duration
    /// Growth per attempt (2 doubles the delay each time).
    public var factor: Double
    /// Upper bound of any delay.
    public var maximum: Duration
    /// Fraction of the delay added or removed at random (0.25 = ±25 %).
    public var jitter: Double

    /// - Parameters:
    ///   - base: delay after the first failure.
    ///   - factor: multiplier per further failure.
    ///   - maximum: cap on the delay.
    ///   - jitter: random spread, as a fraction of the delay (0…1).
    public init(base: Duration, factor: Double, maximum: Duration, jitter: Double) {
        self.base = base
        self.factor = max(1, factor)
        self.maximum = maximum
        self.jitter = min(max(jitter, 0), 1)
    }

    /// 1 s, 2 s, 4 s … capped at 1 h, ±20 %.
    public static let `default` = RetryStrategy(base: .seconds(1), factor: 2, maximum: .seconds(3600), jitter: 0.2)

    /// Exponential backoff with jitter.
    public static func exponentialJitter(base: Duration = .seconds(1), factor: Double = 2, maximum: Duration = .seconds(3600), jitter: Double = 0.2) -> RetryStrategy {
        RetryStrategy(base: base, factor: factor, maximum: maximum, jitter: jitter)
    }

    /// The same delay every time, without jitter.
    public static func constant(_ delay: Duration) -> RetryStrategy {
        RetryStrategy(base: delay, factor: 1, maximum: delay, jitter: 0)
    }

    /// The delay before the attempt after `attempt` (1-based) failed.
    public func delay<R: RandomNumberGenerator>(afterAttempt attempt: Int, using generator: inout R) -> Duration {
        let baseSeconds = Self.seconds(base)
        let exponent = Double(max(0, attempt - 1))
        let raw = min(baseSeconds * pow(factor, exponent), Self.seconds(maximum))
        let spread = jitter == 0 ? 1 : Double.random(in: (1 - jitter)...(1 + jitter), using: &generator)
        let seconds = min(raw * spread, Self.seconds(maximum))
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// The delay before the attempt after `attempt` (1-based) failed, with system randomness.
    public func delay(afterAttempt attempt: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, using: &generator)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

extension Duration {
    /// Whole milliseconds (rounded down), for SQL parameters.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
