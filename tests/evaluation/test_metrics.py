import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from eyeauth.errors import DataError
from eyeauth.evaluation import scoring as metrics


def test_perfect_separation():
    assert metrics.eer([0.9, 0.8, 0.95], [0.1, 0.2, 0.3]) == 0.0
    assert metrics.frr_at_far([0.9, 0.8], [0.1, 0.2]) == 0.0


def test_inverted_is_one():
    assert metrics.eer([0.1, 0.2], [0.8, 0.9]) == pytest.approx(1.0)


def test_same_distribution_near_half(rng):
    g, i = rng.normal(size=4000), rng.normal(size=4000)
    assert metrics.eer(g, i) == pytest.approx(0.5, abs=0.03)


def test_known_gaussians(rng):
    # d' = 2: EER = Phi(-1) = 0.1587
    g, i = rng.normal(2, 1, 20000), rng.normal(0, 1, 20000)
    assert metrics.eer(g, i) == pytest.approx(0.1587, abs=0.01)
    assert metrics.frr_at_far(g, i, 0.01) == pytest.approx(0.6265, abs=0.03)


def test_empty_raises():
    with pytest.raises(DataError):
        metrics.eer([], [0.1])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=1, max_size=40),
       st.lists(st.floats(-1, 1), min_size=1, max_size=40))
def test_eer_in_unit_interval(g, i):
    e = metrics.eer(g, i)
    assert 0.0 <= e <= 1.0
    assert 0.0 <= metrics.frr_at_far(g, i) <= 1.0


def test_labelled_trials_count_and_score_as_the_board():
    emb = np.eye(3).repeat(5, axis=0) + 0.01
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.repeat(["a", "b", "c"], 5)
    g, i = metrics.trials(emb, labels, 2)
    assert g.size == 9 and i.size == 18
    assert metrics.eer(g, i) == 0.0
    # the template is the normalised sum of the int8 samples the board stores
    tpl = metrics.template(metrics.quantize_unit(emb[:2]))
    assert g[0] == pytest.approx(float(emb[2] @ tpl))
    refused = np.zeros(15, bool)
    refused[2] = True  # a probe the board refuses scores -1: a reject, never an accept
    g2, _ = metrics.trials(emb, labels, 2, refused)
    assert g2[0] == -1.0 and (g2[1:] == g[1:]).all()


def test_labelled_trials_need_files():
    with pytest.raises(DataError, match="need more than"):
        metrics.trials(np.eye(2), ["a", "b"], 1)
