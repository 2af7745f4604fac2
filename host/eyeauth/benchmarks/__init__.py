"""Benchmarks the CLI calls (`eyeauth bench ...`): each runs on a (virtual) board or the host and
returns its figures; only the CLI prints them. ``link``: serial throughput and deploy speed;
``auth``: one authentication per policy, measured and modeled; ``capacity``: N users on the
board's store, match time and FAR against N."""
