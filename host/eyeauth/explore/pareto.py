"""Pareto fronts: the configurations no other beats on every objective (all minimised)."""
from __future__ import annotations

import numpy as np

OBJECTIVES = ("bom_usd", "unlock_s", "frr")


def front(rows, keys=OBJECTIVES):
    """Indices of the non-dominated rows (minimise every key). Ties are all kept: a row is
    dominated only by one that is <= on every key and < on at least one."""
    if not rows:
        return []
    x = np.array([[float(r[k]) for k in keys] for r in rows])
    keep = []
    for i in range(len(x)):
        le = np.all(x <= x[i], axis=1)
        lt = np.any(x < x[i], axis=1)
        if not np.any(le & lt):
            keep.append(i)
    return keep


def front_rows(rows, keys=OBJECTIVES):
    """The non-dominated rows, sorted by the keys."""
    idx = front(rows, keys)
    return sorted((rows[i] for i in idx), key=lambda r: tuple(r[k] for k in keys))
