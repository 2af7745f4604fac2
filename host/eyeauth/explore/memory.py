"""The memory model: does a configuration fit its board, and where does each part live?

* Flash: every deployed model file (detector, embedders, the premodel's cheap models) plus
  ``fs_reserve_bytes`` must fit the filesystem partition (``flash_layout.vfs_size``).
* Weights: memory-mapped from flash (``weights_in=flash``: no RAM) or loaded into the
  MicroPython heap (``weights_in=heap``).
* Internal SRAM: the board's ``sram_bytes`` minus ``idf_reserve_bytes`` of the chip minus
  ``runtime_reserve_bytes``. Without
  PSRAM it must also hold the MicroPython heap (``heap_min_bytes``), the camera frame and the
  audio buffer; with PSRAM those live in PSRAM.
* TFLM arenas (the measured ``arena_bytes_target`` of the cards, x ``int16_arena_factor`` for
  16x8 embedders): one per model (or one shared, ``shared_arena``), placed greedily in SRAM,
  slowest model first (it gains most), the rest in PSRAM (slower: ``psram_arena_factor``).
* PSRAM: the MicroPython heap plus the arenas placed there must fit ``psram_usable_bytes``, and
  the heap must hold the frame, the audio buffer and heap-loaded weights.

A configuration that does not fit gets ``fits=False`` and a one-line ``reason``.
"""
from __future__ import annotations

KIB = 1024.0


def _kb(n):
    return f"{n / KIB:.0f} KB"


def check(board, parts, assumptions, needs_mic=False, audio_bytes=0):
    """Fit a configuration. ``parts``: [{name, flash_bytes, arena_bytes, ms}] (arena already
    scaled for the bit width). Returns a dict: fits, reason, arena_in {name: sram|psram}, and
    the byte counts."""
    a = assumptions
    out = {"fits": False, "reason": None, "arena_in": {}}
    if needs_mic and not board.get("has_mic", bool(board.get("microphone"))):
        out["reason"] = f"no microphone on {board.get('variant', board['name'])}"
        return out
    flash_need = sum(p["flash_bytes"] for p in parts) + a.fs_reserve_bytes
    vfs = int(board["flash_layout"]["vfs_size"])
    out.update(flash_used=flash_need, vfs_size=vfs)
    if flash_need > vfs:
        out["reason"] = (f"models need {_kb(flash_need)} of filesystem "
                         f"(with {_kb(a.fs_reserve_bytes)} reserve), VFS is {_kb(vfs)}")
        return out
    has_psram = int(board.get("psram_usable_bytes") or 0) > 0
    weights_heap = sum(p["flash_bytes"] for p in parts) if a.weights_in == "heap" else 0
    heap_content = a.frame_bytes + audio_bytes + weights_heap
    internal = int(board["sram_bytes"]) - a.chip("idf_reserve_bytes", board["chip"]) - \
        a.runtime_reserve_bytes
    if not has_psram:
        internal -= a.heap_min_bytes + heap_content
        if internal < 0:
            out["reason"] = (f"no PSRAM: heap, frame, audio and weights need "
                             f"{_kb(a.heap_min_bytes + heap_content)} of internal SRAM, "
                             f"{_kb(internal + a.heap_min_bytes + heap_content)} free")
            return out
    arenas = _arenas(parts, a.shared_arena)
    free = internal
    for name, size, _ in sorted(arenas, key=lambda t: -t[2]):
        if size <= free:
            out["arena_in"][name] = "sram"
            free -= size
        else:
            out["arena_in"][name] = "psram"
    psram_arenas = sum(s for n, s, _ in arenas if out["arena_in"][n] == "psram")
    out.update(sram_used=internal - free, sram_free=free, psram_arena_bytes=psram_arenas)
    if psram_arenas and not has_psram:
        out["reason"] = (f"no PSRAM: arenas need {_kb(sum(s for _, s, _ in arenas))}, internal "
                         f"SRAM has {_kb(internal)} left after heap, frame and audio")
        return out
    if has_psram:
        heap = int(board["micropython_heap_bytes"])
        if heap < a.heap_min_bytes + heap_content:
            need = a.heap_min_bytes + heap_content
            out["reason"] = (f"MicroPython heap {_kb(heap)} < {_kb(need)} needed (app, frame, "
                             "audio, heap-loaded weights)")
            return out
        if heap + psram_arenas > int(board["psram_usable_bytes"]):
            out["reason"] = (f"PSRAM {_kb(board['psram_usable_bytes'])} < heap {_kb(heap)} + "
                             f"arenas {_kb(psram_arenas)}")
            return out
    out["fits"] = True
    if a.shared_arena and arenas:
        out["arena_in"] = {p["name"]: out["arena_in"]["shared"] for p in parts}
    return out


def _arenas(parts, shared):
    """[(name, bytes, priority ms)]: one per model, or one shared arena of the largest size."""
    if not parts:
        return []
    if shared:
        return [("shared", max(p["arena_bytes"] for p in parts), sum(p["ms"] for p in parts))]
    return [(p["name"], p["arena_bytes"], p["ms"]) for p in parts]
