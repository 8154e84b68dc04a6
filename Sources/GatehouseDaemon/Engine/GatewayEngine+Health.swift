extension GatewayEngine {
    /// Why delivery is degraded now, in plain words, for `/healthz`: the own mailbox has not
    /// been listed for longer than `unreachableAfter` (nothing is collected: no bundle, no
    /// receipt), or a partner's circuit breaker is open (deliveries to it are paused). Empty
    /// when mail flows both ways.
    package func deliveryProblems() -> [String] {
        var found: [String] = []
        let now = clock.now()
        let limit = RetryPolicy.milliseconds(settings.unreachableAfter)
        if let since = listingFailingSince, now - since > limit {
            found.append("the own mailbox (\(own.org)) has not been listed for \((now - since) / 1000) s, longer than "
                         + "[collector] unreachable_after (\(limit / 1000) s): nothing is collected; last failure: "
                         + (listingFailure ?? "unknown"))
        }
        for (partner, breaker) in breakers.sorted(by: { $0.key.value < $1.key.value }) {
            switch breaker.state {
            case .closed: continue
            case .open(let until):
                let wait = until > now ? "the next trial in \((until - now + 999) / 1000) s" : "a trial is due"
                found.append("partner \(partner): circuit breaker open after \(breaker.threshold) consecutive failed "
                             + "deliveries; deliveries paused (\(wait))")
            case .halfOpen:
                found.append("partner \(partner): circuit breaker half-open after \(breaker.threshold) consecutive "
                             + "failed deliveries; one trial delivery in flight")
            }
        }
        return found
    }
}
