"""Cost-driven design-space exploration (Sharma et al., arXiv 2310.07940): board variant x
authentication policy x model x bit width x premodel, judged on BOM cost, time to unlock and
false rejects. ``eyeauth explore`` is :func:`eyeauth.explore.run.explore`.

Modules: boards (configs and component variants), assumptions (every assumed number), latency
(card latencies scaled; anchor errors), calibrate (field telemetry -> scale factors), memory
(fit and placement), pystages (firmware Python stage costs), scores (score cache), fusion
(policies' operating points), ux (time to unlock, lock-out), space (enumerate and evaluate),
sweep (any executor), pareto, findings, plots, report.
"""
