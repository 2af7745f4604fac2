"""`eyeauth bench auth|capacity`: the CLI of :mod:`eyeauth.benchmarks` (auth latency per policy,
N users on the board)."""
from __future__ import annotations

from eyeauth.cli.bench import target
from eyeauth.cli.main import Result


@target("auth", "latency of one authentication per fusion policy, measured and modeled; peak heap")
def bench_auth(args, parser):
    if parser is not None:
        parser.add_argument("--rounds", type=int, default=5, help="authentications per policy")
        parser.add_argument("--data", help="data folder (default ../shared/data)")
        parser.add_argument("--all-models", action="store_true",
                            help="deploy every model so the router (premodel, cascade) can choose "
                            "(default: the default face and voice models only, quick)")
        return None
    from eyeauth.benchmarks import auth

    result = auth.run(args.port, args.rounds, args.data, every_model=args.all_models)
    boards = [("given", args.port)] if args.port else [(b, None) for b in auth.BOARDS]
    lines = [f"{'policy':8} {'measured ms':>12} " + " ".join(f"{'modeled ' + b:>20}" for b, _ in boards)]
    for policy, v in result["policies"].items():
        lines.append(f"{policy:8} {v['measured_ms']:12.1f} " + " ".join(
            f"{v.get('modeled_ms_' + b, float('nan')):20.0f}" for b, _ in boards))
    lines.append("router (premodel + escalate stages) per attempt: " + "; ".join(
        f"{policy} {v['router_measured_ms']:.2f} ms measured ({100 * v['router_fraction_measured']:.2f} %), "
        + ", ".join(f"{v['router_modeled_ms_' + b]:.1f} ms modeled on {b} "
                    f"({100 * v['router_fraction_modeled_' + b]:.2f} %; median "
                    f"{v['router_median_modeled_ms_' + b]:.1f} ms)" for b, _ in boards
                    if 'router_modeled_ms_' + b in v)
        for policy, v in result["policies"].items()))
    lines.append("Python share of the modeled attempt (stages outside TFLM): " + "; ".join(
        f"{policy} " + ", ".join(f"{100 * v['python_fraction_modeled_' + b]:.0f} % on {b}"
                                 for b, _ in boards if 'python_fraction_modeled_' + b in v)
        for policy, v in result["policies"].items()))
    for b, v in result["boards"].items():
        lines.append(f"{b}: app peak heap {v['peak_heap_used']} bytes used (low-water mark {v['heap_min_free']} bytes free)")
    return Result(result, "\n".join(lines))


@target("capacity", "N users on the board: store bytes, 1:1 and 1:N match time (measured, modeled), FAR against N")
def bench_capacity(args, parser):
    if parser is not None:
        parser.add_argument("--users", type=int, default=500, help="users on the board (default 500, "
                            "the store's maximum)")
        parser.add_argument("--rounds", type=int, default=3, help="attempts per match figure (median)")
        parser.add_argument("--no-far", action="store_true", help="skip FAR/FRR against N (host, LFW)")
        parser.add_argument("--data", help="data folder (default ../shared/data)")
        return None
    from eyeauth.benchmarks import capacity
    from eyeauth.cli.bench import board_port
    from eyeauth.errors import UsageError
    from eyeauth.models.progress import note

    if not 1 <= args.users <= 500:
        raise UsageError("--users must be 1..500 (the board's store holds at most 500)")
    key = None
    if args.port:  # a board of this host's: its own secret opens it (a virtual one gets a fresh one)
        from eyeauth.auth.pairing import load_key
        key = load_key(create=True)
    with board_port(args, deploy_app=False) as (port, _vb):
        r = capacity.run(port, args.users, key=key, data_dir=args.data, rounds=args.rounds,
                         far=not args.no_far, progress=note)
    return Result(r, capacity.text(r))
