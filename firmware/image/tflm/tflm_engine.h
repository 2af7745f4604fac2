// eyeauth `tflm` user C module: the C interface between the MicroPython binding (modtflm.c, C)
// and TensorFlow Lite Micro (tflm_engine.cpp, C++). No MicroPython header here and no TFLM header
// in modtflm.c: each side compiles with its own language and include paths.
#ifndef EYEAUTH_TFLM_ENGINE_H
#define EYEAUTH_TFLM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tflm_engine tflm_engine_t;

// Where the tensor arena goes (heap_caps_aligned_alloc capabilities). TFLM takes one contiguous
// arena: it cannot split it across internal SRAM and PSRAM, so the caller picks one.
enum { TFLM_ARENA_INTERNAL = 0, TFLM_ARENA_SPIRAM = 1 };

typedef struct {
    int8_t *data;        // tensor bytes (int8 models; uint8/int16 are reported by type)
    size_t bytes;
    int type;            // TfLiteType value (9 = kTfLiteInt8)
    int dims;
    int shape[6];
    float scale;         // per-tensor quantization (0 when none)
    int zero_point;
} tflm_tensor_info_t;

// Copies `model` (a .tflite flatbuffer) into a 16-byte aligned PSRAM buffer (internal RAM when
// the board has no PSRAM), allocates an `arena_bytes` arena with `arena_where`, builds the
// interpreter and calls AllocateTensors. Returns NULL and writes a reason into err on failure.
tflm_engine_t *tflm_engine_new(const uint8_t *model, size_t model_bytes, size_t arena_bytes,
    int arena_where, char *err, size_t err_len);
void tflm_engine_free(tflm_engine_t *e);

int tflm_engine_inputs(tflm_engine_t *e);
int tflm_engine_outputs(tflm_engine_t *e);
// 0 on success, -1 for an index out of range.
int tflm_engine_input(tflm_engine_t *e, int index, tflm_tensor_info_t *out);
int tflm_engine_output(tflm_engine_t *e, int index, tflm_tensor_info_t *out);
// Runs the graph; returns the microseconds Invoke() took (esp_timer_get_time), -1 on error.
int64_t tflm_engine_invoke(tflm_engine_t *e);
// MicroInterpreter::arena_used_bytes(): the arena the model really needs (after AllocateTensors).
size_t tflm_engine_arena_used(tflm_engine_t *e);
size_t tflm_engine_arena_size(tflm_engine_t *e);

#ifdef __cplusplus
}
#endif

#endif
