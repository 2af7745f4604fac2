"""The explorer's fused policies are the board's rules (firmware/eyeauth_fw/fusion.py), and their
counted-pair operating points equal what listing every face x voice pair gives."""
import numpy as np
import pytest

from eyeauth.explore import fusion as F


def _scores(seed, ties=False):
    rng = np.random.default_rng(seed)
    s = [rng.normal(0.6, 0.15, 60), rng.normal(0.1, 0.15, 200),
         rng.normal(0.7, 0.1, 90), rng.normal(0.2, 0.12, 250)]
    return [np.round(x, 2) for x in s] if ties else s


def test_policy_names_are_the_boards():
    from eyeauth.fw import fusion

    assert F.POLICIES == tuple(fusion.POLICIES)


@pytest.mark.parametrize("seed,ties", [(1, False), (2, False), (3, True), (4, True)])
def test_sum_equals_listing_every_pair(seed, ties):
    gf, if_, gv, iv = _scores(seed, ties)
    got = F.score_sum(gf, if_, gv, iv, 0.01)
    g = (gf[:, None] + gv[None, :]).ravel()
    i = (if_[:, None] + iv[None, :]).ravel()
    frr, far = F.frr_at_far(g, i, 0.01)
    assert (got["frr"], got["far"]) == (frr, far)
    assert far <= 0.01


def _brute_cascade(gf, if_, gv, iv, far):
    """The board's cascade on every listed pair, over the same grids as cascade_points."""
    pooled = np.concatenate([gf, if_])
    tfs = np.unique(np.quantile(pooled, np.linspace(0.02, 0.98, 40)))
    gp = (np.repeat(gf, gv.size), np.tile(gv, gf.size))
    ip = (np.repeat(if_, iv.size), np.tile(iv, if_.size))
    cs = np.linspace(np.sort(if_)[0] + np.sort(iv)[0],
                     max(if_.max() + iv.max(), gf.max() + gv.max()), F.C_STEPS)
    pts = []
    for tf in tfs:
        for m in F.MARGINS:
            lo, hi = tf - m, tf + m

            def accepted(f, v, c):
                return (f >= hi) | ((f > lo) & (f < hi) & (f + v >= c))

            if np.mean(if_ >= hi) > far:
                continue
            for c in cs:
                fa = np.mean(accepted(*ip, c))
                if fa <= far:
                    p2 = np.mean((gf > lo) & (gf < hi))
                    if 0 < p2 < 1:
                        pts.append((p2, 1 - np.mean(accepted(*gp, c)), fa))
                    break
    out, best = [], 2.0
    for p2, fr, fa in sorted(pts):
        if fr < best - 1e-12:
            out.append((p2, fr, fa))
            best = fr
    return out


@pytest.mark.parametrize("seed", [5, 6])
def test_cascade_equals_listing_every_pair(seed):
    gf, if_, gv, iv = _scores(seed)
    got = [(p["p_second"], p["frr"], p["far"]) for p in F.cascade_points(gf, if_, gv, iv, 0.01)]
    want = _brute_cascade(gf, if_, gv, iv, 0.01)
    assert got and len(got) == len(want)
    for a, b in zip(got, want):
        assert a == pytest.approx(b, abs=1e-12)
    assert all(fa <= 0.01 for _, _, fa in got)


def test_the_counted_rules_are_the_firmwares_decisions():
    """sum and cascade as the explorer counts them (raw scores against tf, tv, m) decide as the
    firmware's fusion.decide does on the margins."""
    from eyeauth.fw import fusion

    decide = fusion.decide
    rng = np.random.default_rng(9)
    tf, tv, m = 0.4, 0.5, 0.08
    for f, v in rng.uniform(0, 1, (500, 2)):
        lo, hi = tf - m, tf + m
        cascade = f >= hi or (lo < f < hi and f + v >= tf + tv)
        assert decide("cascade", f - tf, v - tv, m)[0] == cascade
        assert decide("sum", f - tf, v - tv)[0] == (f + v >= tf + tv)
        assert decide("both", f - tf, v - tv)[0] == (f >= tf and v >= tv)
