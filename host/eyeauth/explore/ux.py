"""The user-experience model: what a genuine user lives with, per configuration.

A genuine user makes attempts until one is accepted or ``attempts`` (N) have failed in a row,
which locks the board (fallback unlock costing ``lockout_penalty_s``). Attempts are independent,
each rejected with probability q = FRR at the target FAR (real failures cluster: bad light, a cold
voice; so the lock-out chance below is a lower bound). With T the time of one attempt (sensing +
compute) and R the user's time to notice a rejection and present again:

    P(accepted at attempt k) = q^(k-1) (1 - q),   k = 1..N
    P(lock-out)              = q^N
    E[time to unlock]        = sum_k q^(k-1)(1-q) (k T + (k-1) R)
                               + q^N (N T + (N-1) R + lockout_penalty)

An impostor (zero effort) gets N tries: P(some accepted) = 1 - (1 - FAR)^N.
"""
from __future__ import annotations

from eyeauth.errors import UsageError


def unlock(frr, attempt_s, retry_s, attempts=5, lockout_penalty_s=30.0, far=None):
    """UX numbers of one configuration (dict, seconds and probabilities)."""
    if not 0.0 <= frr <= 1.0:
        raise UsageError(f"FRR must be in [0, 1], got {frr}")
    if attempts < 1 or attempt_s < 0 or retry_s < 0:
        raise UsageError("attempts must be >= 1 and times >= 0")
    q, n = float(frr), int(attempts)
    expected = 0.0
    p_success = 0.0
    mean_attempts = 0.0
    for k in range(1, n + 1):
        pk = q ** (k - 1) * (1.0 - q)
        expected += pk * (k * attempt_s + (k - 1) * retry_s)
        p_success += pk
        mean_attempts += pk * k
    p_lock = q ** n
    expected += p_lock * (n * attempt_s + (n - 1) * retry_s + lockout_penalty_s)
    mean_attempts += p_lock * n
    out = {"unlock_s": expected, "lockout": p_lock, "first_try": 1.0 - q,
           "mean_attempts": mean_attempts,
           "unlock_given_success_s": (expected - p_lock * (n * attempt_s + (n - 1) * retry_s
                                                           + lockout_penalty_s)) / p_success
           if p_success > 0 else None}
    if far is not None:
        out["impostor_success"] = 1.0 - (1.0 - float(far)) ** n
    return out
