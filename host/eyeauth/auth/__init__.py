"""The host side of the board's authentication: the protocol client (enroll, auth, users,
signed admin commands), the inputs it sends, and pairing. Evaluation lives in
:mod:`eyeauth.evaluation`, benchmarks in :mod:`eyeauth.benchmarks`."""
