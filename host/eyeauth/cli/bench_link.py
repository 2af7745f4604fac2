"""`eyeauth bench link`: telemetry records/s and deploy throughput on the serial line."""
from eyeauth.cli.bench import board_port, target
from eyeauth.cli.main import Result


@target("link", "telemetry records/s and bytes/s, deploy throughput, vs 115200/921600 baud")
def bench_link(args, parser):
    if parser is not None:
        parser.add_argument("--records", type=int, default=5000, help="telemetry records per round")
        parser.add_argument("--deploy-bytes", type=int, default=300 * 1024, help="size of the test model file")
        return None
    from eyeauth.benchmarks.link import deploy_bench, telemetry_bench

    with board_port(args) as (port, vb):
        tel = telemetry_bench(port, n=args.records)
        dep = deploy_bench(port, size=args.deploy_bytes)
    data = {"port": port if args.port else "virtual esp-eye", "telemetry": tel, "deploy": dep}
    lr = tel["line_rate"]
    text = "\n".join([
        f"telemetry: {tel['records_per_s']:.0f} records/s, {tel['bytes_per_s'] / 1024:.1f} KiB/s, "
        f"{tel['lost']} lost of {tel['records']} ({tel['bytes_per_record']:.0f} B/record)",
        f"  a UART would carry {lr['115200']['records_per_s']:.0f} records/s at 115200 baud, "
        f"{lr['921600']['records_per_s']:.0f} at 921600",
        f"deploy: {dep['bytes'] / 1024:.0f} KiB model in {dep['seconds']:.2f} s = {dep['bytes_per_s'] / 1024:.1f} KiB/s",
        f"  the line alone needs {dep['line_rate']['115200']['seconds_at_line_rate']} s at 115200 baud, "
        f"{dep['line_rate']['921600']['seconds_at_line_rate']} s at 921600",
    ])
    return Result(data, text)
