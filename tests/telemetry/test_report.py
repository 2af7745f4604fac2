"""eyeauth.telemetry.report and .export: the files, and numbers that match plain SQL."""
from __future__ import annotations

import contextlib
import csv
import math
import re
import sqlite3
from pathlib import Path

import pytest

from eyeauth.errors import DataError
from eyeauth.telemetry import export, schema
from eyeauth.telemetry.report import report
from eyeauth.telemetry.store import TelemetryStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def made(sample_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return report(sample_db, out), out


def sql_stats(db: Path, column: str, key) -> dict:
    """The report's numbers for one group, computed directly in SQL (column "model, stage":
    key is a (model, stage) pair)."""
    keys = tuple(key) if isinstance(key, tuple) else (key,)
    column = " = ? AND ".join(c.strip() for c in column.split(","))
    with contextlib.closing(sqlite3.connect(db)) as c:
        one = lambda q, *a: c.execute(q, keys + a).fetchone()  # noqa: E731
        n, mean, mx, heap, arena = one(
            f"SELECT count(*), avg(latency_us), max(latency_us), min(heap_free), max(arena_used)"
            f" FROM records WHERE {column} = ?")
        pct = {p: one(f"SELECT latency_us FROM records WHERE {column} = ? ORDER BY latency_us "
                      f"LIMIT 1 OFFSET ?", math.ceil(p * n / 100) - 1)[0] for p in (50, 90, 99)}
        modeled, lat_sum, mod_sum = one(
            f"SELECT avg(modeled_us), sum(latency_us), sum(modeled_us) FROM records"
            f" WHERE {column} = ? AND modeled_us >= 0")
    return {"count": n, "mean_ms": mean / 1000, "max_ms": mx / 1000,
            **{f"p{p}_ms": v / 1000 for p, v in pct.items()},
            "modeled_ms": None if modeled is None else modeled / 1000,
            "ratio": None if not mod_sum else lat_sum / mod_sum,
            "heap_kib": heap / 1024, "arena_kib": arena / 1024}


def md_table(text: str, heading: str, nkeys: int = 1) -> dict:
    """Rows of the markdown table under a heading, keyed by the first cell (backticks off), or
    by a tuple of the first ``nkeys`` cells."""
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split(" | ") for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("|---")]
    key = (lambda r: r[0].strip(" `")) if nkeys == 1 else \
        (lambda r: tuple(c.strip(" `") for c in r[:nkeys]))
    return {key(r): [c.strip() for c in r[nkeys:]] for r in rows[1:]}


@pytest.mark.parametrize("heading, column", [("Latency and memory per stage", "stage"),
                                             ("Latency and memory per model, per stage",
                                              "model, stage")])
def test_markdown_numbers_match_sql(made, sample_db, heading, column):
    _, out = made
    nkeys = column.count(",") + 1
    table = md_table((out / "report.md").read_text(), heading, nkeys)
    first = column.split(",")[0]
    with contextlib.closing(sqlite3.connect(sample_db)) as c:
        keys = [k if nkeys > 1 else k[0] for k in c.execute(
            f"SELECT DISTINCT {column} FROM records WHERE {first} != '' ORDER BY 1, {nkeys}")]
    assert sorted(table) == keys
    for key in keys:
        want = sql_stats(sample_db, column, key)
        cells = table[key]
        assert int(cells[0]) == want["count"]
        names = ["mean_ms", "p50_ms", "p90_ms", "p99_ms", "max_ms", "modeled_ms", "ratio"]
        for cell, name in zip(cells[1:8], names):
            if want[name] is None:
                assert cell == "-"
            else:
                assert float(cell) == pytest.approx(want[name], abs=0.0005), (key, name)
        assert float(cells[8]) == pytest.approx(want["heap_kib"], abs=0.05)
        assert float(cells[9]) == pytest.approx(want["arena_kib"], abs=0.05)


def test_summary_boots_and_sessions_match_sql(made, sample_db):
    data, out = made
    text = (out / "report.md").read_text()
    with contextlib.closing(sqlite3.connect(sample_db)) as c:
        n, boots = c.execute("SELECT count(*), count(DISTINCT boot) FROM records").fetchone()
        gaps, missing = c.execute("SELECT count(*), sum(missing) FROM gaps").fetchone()
    assert f"- records: {n} from {boots} boots" in text
    assert f"- sequence gaps: {gaps} ({missing} records missing)" in text
    assert data["totals"]["records"] == n and (gaps, missing) == (1, 5)
    boot_rows = md_table(text, "Boots")
    assert boot_rows["b0070001"][5:7] == ["1", "5"]
    assert md_table(text, "Link quality per monitor session")["1"][2:5] == ["1234", "2", "3"]


def test_all_files_are_written_and_pngs_are_images(made):
    data, out = made
    names = {"report.md", "by_stage.csv", "by_model.csv", "boots.csv", "sessions.csv",
             "records.csv", "metrics.txt", "latency_by_stage.png", "latency_by_model.png",
             "heap_free.png"}
    assert {p.name for p in out.iterdir()} == names
    assert {Path(f).name for f in data["files"].values()} == names
    for png in out.glob("*.png"):
        blob = png.read_bytes()
        assert blob.startswith(PNG_MAGIC) and len(blob) > 10_000
        assert f"]({png.name})" in (out / "report.md").read_text()


def test_csv_tables_match_the_returned_numbers(made, sample_db):
    data, out = made
    with open(out / "by_stage.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["stage"] for r in rows] == [s["stage"] for s in data["stages"]]
    for row, s in zip(rows, data["stages"]):
        assert int(row["count"]) == s["count"] and float(row["p99_ms"]) == s["p99_ms"]
        assert int(row["heap_free_min"]) == s["heap_free_min"]
    with open(out / "records.csv", newline="") as fh:
        records = list(csv.DictReader(fh))
    assert len(records) == data["totals"]["records"]
    assert records[0]["board"] == "esp-eye" and records[0]["extra"].startswith("{")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|'
                     r'\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$')


def test_openmetrics_is_well_formed_and_agrees_with_the_report(made, sample_db):
    data, _ = made
    text = export.openmetrics(sample_db)
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    families: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in text.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in families
            families[name] = kind
        elif not line.startswith("# "):
            m = _SAMPLE.match(line)
            assert m, line
            name = m.group(1)
            family = re.sub(r"_(total|sum|count)$", "", name)
            assert family in families, line
            if families[family] == "counter":
                assert name.endswith("_total")
            samples[name + (m.group(2) or "")] = float(m.group(3))
    stage = next(s for s in data["stages"] if s["stage"] == "capture")
    assert samples['eyeauth_stage_latency_seconds{stage="capture",model="",quantile="0.9"}'] \
        == pytest.approx(stage["p90_ms"] / 1000)
    counts = [v for k, v in samples.items() if k.startswith("eyeauth_stage_latency_seconds_count")]
    assert sum(counts) == data["totals"]["records"]
    assert samples['eyeauth_boot_missing_records{boot="b0070001",board="esp-eye"}'] == 5


def test_label_values_are_escaped(tmp_path):
    db = tmp_path / "t.db"
    from eyeauth.link.protocol import TelemetryRecord
    with TelemetryStore(db) as store:
        store.add_record(TelemetryRecord("0badcafe", 0, 'odd "stage"\\x', "", 5, -1, 10, 0))
    text = export.openmetrics(db)
    assert 'stage="odd \\"stage\\"\\\\x"' in text


def test_report_of_an_empty_database_says_what_to_do(tmp_path):
    db = tmp_path / "t.db"
    TelemetryStore(db).close()
    with pytest.raises(DataError, match="holds no telemetry records yet; run `eyeauth monitor"):
        report(db, tmp_path / "out")


@pytest.mark.parametrize("make, words", [
    (lambda p: None, "no telemetry database at"),
    (lambda p: p.write_bytes(b"\x00garbage" * 512), "not a readable SQLite database"),
    (lambda p: p.write_bytes(b""), "is empty, not an eyeauth telemetry database"),
])
def test_report_errors_are_one_line(tmp_path, make, words):
    db = tmp_path / "x.db"
    make(db)
    with pytest.raises(DataError, match=words) as err:
        report(db, tmp_path / "out")
    assert "\n" not in str(err.value)


def test_a_damaged_database_is_a_data_error(sample_db, tmp_path):
    db = tmp_path / "cut.db"
    db.write_bytes(sample_db.read_bytes()[:8192])   # header intact, pages missing
    with pytest.raises(DataError, match="SQLite database|damaged"):
        report(db, tmp_path / "out")


def test_report_reads_while_a_monitor_writes(sample_db, tmp_path):
    db = tmp_path / "live.db"
    db.write_bytes(sample_db.read_bytes())
    from eyeauth.link.protocol import TelemetryRecord
    store = TelemetryStore(db, commit_every=1)
    store.begin_session("pty")
    store.add_record(TelemetryRecord("feedf00d", 0, "capture", "", 50000, -1, 10, 0))
    store.maybe_commit()
    try:
        data = report(db, tmp_path / "out")
        assert data["totals"]["boots"] == 4
    finally:
        store.close()
    with contextlib.closing(schema.open_readonly(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_schema_doc_describes_every_column():
    doc = (Path(schema.__file__).parent / "SCHEMA.md").read_text()
    from eyeauth.telemetry import store
    conn = sqlite3.connect(":memory:")
    conn.executescript(schema.DDL)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        assert f"## {table}" in doc and f"``{table}``" in store.__doc__
        for col in conn.execute(f"PRAGMA table_info({table})"):
            assert re.search(rf"\b{col[1]}\b", doc), (table, col[1])
            assert re.search(rf"\b{col[1]}\b", store.__doc__), (table, col[1])


def _small_db(path, virtual):
    from eyeauth.link.protocol import TelemetryRecord

    with TelemetryStore(path) as store:
        store.begin_session("/tmp/board/ttyEYE")
        store.note_boot("c0ffee01", board="esp-eye", fw="0.1.0", proto=1, hello=True,
                        virtual=virtual)
        for seq in range(40):
            if 10 <= seq < 14:
                continue  # four records lost on the link
            store.add_record(TelemetryRecord("c0ffee01", seq, "detect" if seq % 2 else "det_pre",
                                             "face_det", 5000, 90000, 1_500_000 - seq * 1000, 40000,
                                             {}), host_time=1_760_000_000.0 + seq)
    return path


def test_a_virtual_boards_data_says_so(tmp_path):
    """A virtual board says so in its hello (`"virtual": true`); the report, its tables and its
    plot titles say "virtual board" instead of "on target"."""
    data = report(_small_db(tmp_path / "v.db", True), tmp_path / "out")
    text = (tmp_path / "out" / "report.md").read_text()
    assert data["source"] == "virtual" and "a **virtual board**" in text
    assert "esp-eye (virtual board)" in md_table(text, "Boots")["c0ffee01"][0]
    assert "on target" not in text
    data = report(_small_db(tmp_path / "b.db", None), tmp_path / "out2")
    assert data["source"] == "board" and "virtual" not in md_table(
        (tmp_path / "out2" / "report.md").read_text(), "Boots")["c0ffee01"][0]


def test_the_per_model_table_is_per_stage(made, sample_db):
    data, out = made
    with contextlib.closing(sqlite3.connect(sample_db)) as c:
        pairs = c.execute("SELECT DISTINCT model, stage FROM records WHERE model != '' "
                          "ORDER BY 1, 2").fetchall()
    assert [(r["model"], r["stage"]) for r in data["models"]] == pairs
    with open(out / "by_model.csv", newline="") as fh:
        assert [(r["model"], r["stage"]) for r in csv.DictReader(fh)] == pairs


def test_heap_plot_draws_the_floor_and_the_gaps(tmp_path, monkeypatch):
    """The 256 KiB line, a y axis from 0 (so the line shows), the records lost on the link as
    a shaded span with its count, and a title that says where the data came from."""
    from matplotlib.figure import Figure

    from eyeauth.telemetry import plots

    seen = {}
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: seen.setdefault("fig", self))
    db = _small_db(tmp_path / "h.db", True)
    with contextlib.closing(schema.open_readonly(db)) as conn:
        plots.heap_over_time(conn, tmp_path / "heap.png")
    ax = seen["fig"].axes[0]
    floors = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [256, 256]]
    assert floors and ax.get_ylim()[0] == 0
    spans = [p for p in ax.patches]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert (x0, x1) == (9.0, 14.0)  # from the record before the gap to the one after it
    assert any(t.get_text() == "4 lost" for t in ax.texts)
    assert "virtual board" in ax.get_title()


def test_a_schema_1_database_is_upgraded_by_a_writer_and_read_as_is(tmp_path):
    db = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(db)) as c:
        for stmt in schema.DDL.replace(",\n    virtual INTEGER", "").split(";"):
            if stmt.strip():
                c.execute(stmt)
        c.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
        c.execute("PRAGMA user_version = 1")
        c.commit()
    assert "virtual" not in schema.columns(sqlite3.connect(db), "boots")
    data = report(_small_db(db, True), tmp_path / "out")  # written by a schema 2 writer
    assert data["source"] == "virtual"
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 2
