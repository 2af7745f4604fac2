# Telemetry records (schema 1, firmware/PROTOCOL.md): one T frame per pipeline stage.
import gc

from eyeauth_fw import protocol


class Telemetry:
    def __init__(self, out, boot):
        self._out = out
        self.boot = boot
        self.seq = 0
        self.on = True
        self.heap_min = gc.mem_free()  # live-heap low-water mark, sampled after each command's gc

    def sample_heap(self):
        free = gc.mem_free()
        if free < self.heap_min:
            self.heap_min = free

    def record(self, stage, model, latency_us, modeled_us=-1, arena_used=0, extra=None):
        free = gc.mem_free()
        if not self.on:
            return
        rec = [self.boot, stage, model, latency_us, modeled_us, free, arena_used]
        if extra:
            rec.append(extra)
        self._out(protocol.encode("T", self.seq, rec))
        self.seq += 1
