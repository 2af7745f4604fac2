"""Modeled latency: the firmware's Python stages timed in the MicroPython VM (:mod:`stages`) and
the one assembly of a path or an attempt from stage costs."""
