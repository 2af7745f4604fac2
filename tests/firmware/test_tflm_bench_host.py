"""The benchmark firmware's host-checkable parts (firmware/tflm_bench): its frames decode with
the host's protocol decoder, and the generated model table carries each card's arena and modeled
latency for the board. Compiled with the host's C++ compiler; the ESP-IDF parts are not."""
import json
import shutil
import subprocess

import pytest

from eyeauth import FIRMWARE_DIR, MODELS_DIR
from eyeauth.link.protocol import TelemetryRecord, decode_line

BENCH = FIRMWARE_DIR / "tflm_bench"

_MAIN = r'''
#include "bench_frame.h"
#include "bench_models.h"
int main() {
    bench_frame(stdout, 'H', 0, "{\"fw\": \"tflm_bench 1\", \"proto\": 1, \"board\": \"esp-eye\", \"boot\": \"0a1b2c3d\"}");
    for (int i = 0; i < kBenchModelCount; i++) {
        const BenchModel &m = kBenchModels[i];
        char p[320];
        snprintf(p, sizeof(p), "[\"0a1b2c3d\", \"bench_nn\", \"%s\", %lld, %ld, %u, %u, {\"esp_nn\": true, \"run\": %d}]",
                 m.name, 1000LL + i, (long)m.modeled_us, 100000u, (unsigned)m.arena_bytes, i);
        bench_frame(stdout, 'T', i, p);
        printf("#%s %u %u\n", m.name, (unsigned)m.size, (unsigned)((uintptr_t)m.data % 16));
    }
}
'''


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory):
    cxx = shutil.which("g++") or shutil.which("c++")
    if not cxx:
        pytest.skip("no host C++ compiler")
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_models", BENCH / "gen_models.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    d = tmp_path_factory.mktemp("bench")
    repo = d / "repo"
    (repo / "firmware" / "tflm_bench" / "main").mkdir(parents=True)
    (repo / "models").symlink_to(MODELS_DIR)
    (repo / "board_configs").symlink_to(MODELS_DIR.parent / "board_configs")
    n = gen.generate("esp-eye", repo)
    (d / "main.cc").write_text(_MAIN)
    exe = d / "bench"
    subprocess.run([cxx, "-std=c++17", "-O0", "-I", str(BENCH / "main"), str(d / "main.cc"),
                    str(repo / "firmware" / "tflm_bench" / "main" / "models_data.cc"), "-o", str(exe)],
                   check=True, capture_output=True, timeout=300)
    return n, subprocess.run([str(exe)], capture_output=True, check=True).stdout.splitlines()


def test_frames_decode_with_the_host_protocol(bench_out):
    n, lines = bench_out
    frames = [decode_line(line) for line in lines if not line.startswith(b"#")]
    assert frames[0].kind == "H" and frames[0].payload["board"] == "esp-eye"
    recs = [TelemetryRecord.from_frame(f) for f in frames[1:]]
    assert len(recs) == n and {r.stage for r in recs} == {"bench_nn"}


def test_model_table_matches_the_cards(bench_out):
    n, lines = bench_out
    margin = json.loads((MODELS_DIR.parent / "board_configs" / "esp-eye.json").read_text())["hal"]["nn"]["arena_margin_bytes"]
    recs = {r.model: r for r in (TelemetryRecord.from_frame(decode_line(x)) for x in lines[1:] if not x.startswith(b"#"))}
    sizes = {x.split()[0][1:].decode(): (int(x.split()[1]), int(x.split()[2])) for x in lines if x.startswith(b"#")}
    for tfl in sorted(MODELS_DIR.glob("*.tflite")):
        card = json.loads(tfl.with_suffix(".json").read_text())
        r = recs[tfl.stem]
        assert r.arena_used == card["arena_bytes_target"] + margin
        assert r.modeled_us == round(card["latency_ms"]["esp32_espnn"] * 1000)
        assert sizes[tfl.stem] == (tfl.stat().st_size, 0)  # whole model, 16-byte aligned


def _registered(path):
    import re
    return set(re.findall(r"r\.Add(\w+)\(\)", path.read_text()))


def test_board_image_registers_every_operator_of_the_release():
    """The `tflm` module of the board image (and the benchmark app) registers every operator the
    committed models use, the audio front end's signal ops included: MicroMutableOpResolver's
    Add<Name>() for builtin OP_NAME and for custom SignalName."""
    from eyeauth import timing
    eng = _registered(FIRMWARE_DIR / "image" / "tflm" / "eyeauth_ops.h")
    for user in (FIRMWARE_DIR / "image" / "tflm" / "tflm_engine.cpp", BENCH / "main" / "bench_main.cc"):
        assert "eyeauth_add_ops(r)" in user.read_text(), user
    special = {"CONV_2D": "Conv2D", "DEPTHWISE_CONV_2D": "DepthwiseConv2D",
               "AVERAGE_POOL_2D": "AveragePool2D", "MAX_POOL_2D": "MaxPool2D"}
    used = set()
    for f in sorted(MODELS_DIR.glob("*.tflite")):
        for op in timing.read_ops(f):
            name = op["op"]
            if name.startswith("Signal"):
                used.add(name[len("Signal"):])
            else:
                used.add(special.get(name, "".join(w.capitalize() for w in name.split("_"))))
    assert "Rfft" in used and "FilterBankLog" in used
    assert used <= eng, sorted(used - eng)
