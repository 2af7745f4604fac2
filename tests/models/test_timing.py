import pytest

from eyeauth import timing


@pytest.mark.parametrize("row", timing.calibration_report(), ids=lambda r: f"{r['chip']}-{r['esp_nn']}")
def test_anchor_within_one_percent(row):
    assert abs(row["error_pct"]) <= 1.0, row


def test_scale_matches_fit():
    for row in timing.calibration_report():
        assert row["scale"] == pytest.approx(row["fitted_scale"], rel=0.01)


def test_person_detection_workload():
    ops = timing.person_detection_ops()
    macs = sum(o["macs"] for o in ops)
    assert 7.0e6 < macs < 7.6e6  # "~7.5 M MACs" published; 7.16 M by our counting rules
    assert [o["op"] for o in ops][:3] == ["CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]


def test_esp_nn_faster_and_s3_faster():
    ops = timing.person_detection_ops()
    t = {(c, e): timing.ops_latency(ops, c, e)["total_ms"] for c in timing.CHIPS for e in (True, False)}
    assert t[("esp32s3", True)] < t[("esp32", True)] < t[("esp32", False)]
    assert t[("esp32s3", True)] < t[("esp32s3", False)]


def test_unknown_chip():
    with pytest.raises(ValueError, match="unknown chip"):
        timing.ops_latency([], chip="esp8266")


def test_not_a_tflite():
    with pytest.raises(ValueError, match="not a TFLite"):
        timing.count_macs(b"hello world, not a model")


def test_zoo_models_per_op(cards):
    for card in cards:
        lat = timing.model_latency(card["path"], "esp32", True)
        assert lat["macs"] == card["macs"] == timing.count_macs(card["path"])
        assert lat["total_ms"] == pytest.approx(sum(p["ms"] for p in lat["per_op"]))
        assert lat["total_ms"] == pytest.approx(card["latency_esp32_ms"], abs=0.02)
        assert all(p["ms"] > 0 for p in lat["per_op"])


def test_keras_mobilenet_matches_workload(tmp_path):
    """MobileNetV1-0.25 96x96x1 built in Keras, converted to int8: same MACs as the table."""
    tf = pytest.importorskip("tensorflow")
    import numpy as np

    from eyeauth.models import convert

    model = tf.keras.applications.MobileNet(input_shape=(96, 96, 1), alpha=0.25, weights=None,
                                            classes=2, include_top=True, dropout=0.0)
    rng = np.random.default_rng(0)
    int8 = convert.to_int8(tf.lite.TFLiteConverter.from_keras_model(model),
                           [rng.uniform(-1, 1, (96, 96, 1)).astype(np.float32) for _ in range(4)])
    got = timing.count_macs(int8)
    want = sum(o["macs"] for o in timing.person_detection_ops())
    assert got == pytest.approx(want, rel=0.01)
    ms = timing.model_latency(int8, "esp32", True)["total_ms"]
    assert ms == pytest.approx(380, rel=0.05)
