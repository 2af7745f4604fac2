"""The committed identity splits: disjoint, complete, on target, and reproducible from the data."""
import pytest

from eyeauth import splits
from eyeauth.errors import DataError


def test_split_counts_is_stable_and_on_target():
    counts = {f"id{i:04d}": 2 + i % 5 for i in range(1000)}
    a = splits.split_counts(counts)
    share = {p: sum(v == p for v in a.values()) / len(a) for p in splits.PARTS}
    for p, f in splits.FRACTIONS.items():
        assert abs(share[p] - f) < 0.02, (p, share[p])
    assert splits.split_counts(dict(reversed(counts.items()))) == a  # order of the input


def test_committed_file_is_disjoint_and_matches_data(shared_data):
    doc = splits.load()
    assert doc == splits.generate(shared_data), "data/splits.json is stale: eyeauth models splits --write"
    for name, s in doc["sets"].items():
        seen = [i for p in splits.PARTS for i in s[p]]
        assert len(seen) == len(set(seen)), name
    for name in ("orl", "fsdd"):  # evaluation-only sources
        assert all(not doc["sets"][name][p] for p in ("train", "calib", "premodel"))
    lfw = splits.summary(doc)["lfw"]
    assert lfw["eval"] >= 0.2 * sum(lfw.values()) - 1 and lfw["premodel"] >= 0.1 * sum(lfw.values()) - 1


def test_bad_split_file_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="splits --write"):
        splits.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        splits.load(bad)
    with pytest.raises(DataError, match="unknown split part"):
        splits.identities("lfw", "test")
