// The zoo as the benchmark firmware sees it: written into models_data.cc by gen_models.py.
#pragma once
#include <stddef.h>
#include <stdint.h>

struct BenchModel {
    const char *name;
    const uint8_t *data;       // .tflite flatbuffer, 16-byte aligned, in flash (rodata)
    size_t size;
    size_t arena_bytes;        // card arena_bytes_target + the board's arena_margin_bytes
    int32_t modeled_us;        // card latency_ms["<chip>_espnn"] x 1000, -1 when none
};

extern const BenchModel kBenchModels[];
extern const int kBenchModelCount;
extern const char kBenchBoard[];   // board config name (H1 frame "board")
