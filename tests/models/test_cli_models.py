import json
import os

from eyeauth.cli.main import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_list_json(cards, capsys):
    assert main(["models", "list", "--json"]) == 0
    rows = _json(capsys)
    assert [r["name"] for r in rows] == [c["name"] for c in cards]
    for r in rows:
        for k in ("name", "modality", "path", "params", "macs", "flash_bytes", "arena_bytes"):
            assert r[k] is not None
        assert r["modality"] in ("face", "voice", "detector", "landmark", "keyword", "frontend") and os.path.exists(r["path"])


def test_list_text(cards, capsys):
    assert main(["models", "list", "--modality", "voice"]) == 0
    out = capsys.readouterr().out
    assert "voice" in out and "face_det" not in out


def test_eval_voice_on_small_folder(cards, fsdd_dir, tmp_path, capsys):
    for spk in ("theo", "yweweler"):
        d = tmp_path / spk
        d.mkdir()
        for k in range(8):
            os.symlink(fsdd_dir / f"{k}_{spk}_0.wav", d / f"{k}.wav")
    assert main(["models", "eval", "--modality", "voice", "--data", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert {r["name"] for r in rows} == {c["name"] for c in cards if c["modality"] == "voice"}
    from eyeauth import MODELS_DIR
    from eyeauth.release import read_thresholds

    shipped = read_thresholds(MODELS_DIR / "thresholds.json").thresholds
    for r in rows:
        assert 0 <= r["eer"] <= 1 and 0 <= r["eer_float"] <= 1 and "frr_at_far_1pct" in r
        assert r["genuine_trials"] == 6 and r["impostor_trials"] == 6
        # at the shipped threshold, scored as the board scores (int8 samples, normalised sum)
        assert r["threshold"] == shipped[r["name"]]
        assert 0 <= r["far_at_threshold"] <= 1 and 0 <= r["frr_at_threshold"] <= 1
    assert captured.err == ""  # --json: no progress, no notes


def test_eval_face_on_uncropped_frames(cards, orl_dir, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from eyeauth import datasets
    from eyeauth.training import synth

    rng = np.random.default_rng(5)
    for ident in ("s37", "s38", "s39"):
        d = tmp_path / ident
        d.mkdir()
        for k in range(1, 6):
            frame, _ = synth.scene_frame(datasets.load_image(orl_dir / ident / f"{k}.pgm"), rng,
                                         min_frac=0.5)
            Image.fromarray(frame).save(d / f"{k}.png")
    assert main(["models", "eval", "--modality", "face", "--data", str(tmp_path),
                 "--model", "face_s48", "--enroll", "2", "--json"]) == 0
    rows = _json(capsys)
    assert len(rows) == 1 and rows[0]["files"] == 15 and rows[0]["genuine_trials"] == 9


def test_eval_bad_folder_is_data_error(tmp_path, capsys):
    rc = main(["models", "eval", "--modality", "face", "--data", str(tmp_path / "nope")])
    assert rc == 6 and capsys.readouterr().err.startswith("eyeauth: ")


def test_eval_skips_identities_with_too_few_files(cards, fsdd_dir, tmp_path, capsys):
    for spk, n in (("theo", 8), ("yweweler", 8), ("george", 3)):  # george: 3 clips < 5 + 1
        d = tmp_path / spk
        d.mkdir()
        for k in range(n):
            os.symlink(fsdd_dir / f"{k}_{spk}_0.wav", d / f"{k}.wav")
    assert main(["models", "eval", "--modality", "voice", "--data", str(tmp_path), "--json"]) == 0
    rows = _json(capsys)
    assert all(r["skipped_identities"] == 1 and r["identities"] == 2 for r in rows)


def test_cross_dataset_table_json(cards, orl_dir, capsys):
    assert main(["models", "eval", "--set", "orl", "--model", "face_s48", "--max-identities", "4",
                 "--json"]) == 0
    sets = _json(capsys)
    assert [s["set"] for s in sets] == ["orl"]
    m = sets[0]["models"][0]
    for k in ("name", "eer", "eer_float", "frr_at_far_1pct", "far_at_threshold", "frr_at_threshold"):
        assert k in m
    assert sets[0]["identities"] == 4 and sets[0]["genuine_trials"] == 4 * 7


def test_eval_data_needs_modality(capsys):
    assert main(["models", "eval", "--data", "x"]) != 0
    assert "--modality" in capsys.readouterr().err
