// eyeauth `tflm` user C module, C++ side: TensorFlow Lite Micro from Espressif's esp-tflite-micro
// component (pinned in firmware/image/versions.env), whose conv/depthwise/fully-connected/add/mul/
// pooling/softmax kernels are ESP-NN's (its CMakeLists removes the reference ones and builds
// kernels/esp_nn/*.cc with -DESP_NN).
//
// Upstream APIs used, as declared in tensorflow/lite/micro/micro_interpreter.h (tflite-micro, the
// version esp-tflite-micro 1.3.x carries):
//   MicroInterpreter(const Model*, const MicroOpResolver&, uint8_t* tensor_arena,
//                    size_t tensor_arena_size, MicroResourceVariables* = nullptr,
//                    MicroProfilerInterface* = nullptr, bool preserve_all_tensors = false)
//   TfLiteStatus AllocateTensors(); TfLiteStatus Invoke();
//   TfLiteTensor* input(size_t); TfLiteTensor* output(size_t);
//   size_t inputs_size() const; size_t outputs_size() const; size_t arena_used_bytes() const;
// tflite::GetModel (schema_generated.h), MicroMutableOpResolver<N>::Add*() (micro_mutable_op_
// resolver.h; the signal ops' Add*() are declared there too, with the kernels in esp-tflite-
// micro's signal/ tree), heap_caps_aligned_alloc/heap_caps_free (esp_heap_caps.h),
// esp_timer_get_time.
#include <new>
#include <stdio.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_timer.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "eyeauth_ops.h"
#include "tflm_engine.h"

namespace {

// The operators: eyeauth_ops.h (shared with the benchmark app).
using Resolver = tflite::MicroMutableOpResolver<kEyeauthOps>;

Resolver &resolver() {
    static Resolver r;
    static bool ready = false;
    if (!ready) {
        eyeauth_add_ops(r);
        ready = true;
    }
    return r;
}

void *caps_alloc(size_t bytes, int where) {
    uint32_t caps = where == TFLM_ARENA_SPIRAM ? (MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT)
                                               : (MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    return heap_caps_aligned_alloc(16, bytes, caps);
}

void fill(const TfLiteTensor *t, tflm_tensor_info_t *out) {
    memset(out, 0, sizeof(*out));
    out->data = t->data.int8;
    out->bytes = t->bytes;
    out->type = (int)t->type;
    int n = t->dims ? t->dims->size : 0;
    out->dims = n > 6 ? 6 : n;
    for (int i = 0; i < out->dims; i++) {
        out->shape[i] = t->dims->data[i];
    }
    out->scale = t->params.scale;
    out->zero_point = t->params.zero_point;
}

}  // namespace

struct tflm_engine {
    uint8_t *model;
    uint8_t *arena;
    size_t arena_bytes;
    tflite::MicroInterpreter *interp;
    alignas(tflite::MicroInterpreter) uint8_t interp_mem[sizeof(tflite::MicroInterpreter)];
};

extern "C" tflm_engine_t *tflm_engine_new(const uint8_t *model, size_t model_bytes,
    size_t arena_bytes, int arena_where, char *err, size_t err_len) {
    tflm_engine_t *e = (tflm_engine_t *)heap_caps_calloc(1, sizeof(tflm_engine_t),
        MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    if (!e) {
        snprintf(err, err_len, "no memory for the interpreter");
        return nullptr;
    }
    // The flatbuffer must outlive the interpreter and be aligned: keep our own copy, in PSRAM
    // when there is some (weights are read once per inference, through the cache).
    e->model = (uint8_t *)heap_caps_aligned_alloc(16, model_bytes, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
    if (!e->model) {
        e->model = (uint8_t *)caps_alloc(model_bytes, TFLM_ARENA_INTERNAL);
    }
    e->arena = (uint8_t *)caps_alloc(arena_bytes, arena_where);
    if (!e->model || !e->arena) {
        snprintf(err, err_len, "cannot allocate %u bytes of %s arena (and %u of model)",
            (unsigned)arena_bytes, arena_where == TFLM_ARENA_SPIRAM ? "PSRAM" : "internal SRAM",
            (unsigned)model_bytes);
        tflm_engine_free(e);
        return nullptr;
    }
    memcpy(e->model, model, model_bytes);
    e->arena_bytes = arena_bytes;
    const tflite::Model *m = tflite::GetModel(e->model);
    if (m->version() != TFLITE_SCHEMA_VERSION) {
        snprintf(err, err_len, "model schema %u, this TFLM reads %d", (unsigned)m->version(),
            TFLITE_SCHEMA_VERSION);
        tflm_engine_free(e);
        return nullptr;
    }
    e->interp = new (e->interp_mem) tflite::MicroInterpreter(m, resolver(), e->arena, arena_bytes);
    if (e->interp->AllocateTensors() != kTfLiteOk) {
        snprintf(err, err_len, "AllocateTensors failed: arena of %u bytes too small, or an "
            "operator this firmware does not register", (unsigned)arena_bytes);
        tflm_engine_free(e);
        return nullptr;
    }
    return e;
}

extern "C" void tflm_engine_free(tflm_engine_t *e) {
    if (!e) {
        return;
    }
    if (e->interp) {
        e->interp->~MicroInterpreter();
        e->interp = nullptr;
    }
    heap_caps_free(e->arena);
    heap_caps_free(e->model);
    heap_caps_free(e);
}

extern "C" int tflm_engine_inputs(tflm_engine_t *e) {
    return (int)e->interp->inputs_size();
}

extern "C" int tflm_engine_outputs(tflm_engine_t *e) {
    return (int)e->interp->outputs_size();
}

extern "C" int tflm_engine_input(tflm_engine_t *e, int index, tflm_tensor_info_t *out) {
    if (index < 0 || (size_t)index >= e->interp->inputs_size()) {
        return -1;
    }
    fill(e->interp->input(index), out);
    return 0;
}

extern "C" int tflm_engine_output(tflm_engine_t *e, int index, tflm_tensor_info_t *out) {
    if (index < 0 || (size_t)index >= e->interp->outputs_size()) {
        return -1;
    }
    fill(e->interp->output(index), out);
    return 0;
}

extern "C" int64_t tflm_engine_invoke(tflm_engine_t *e) {
    int64_t t0 = esp_timer_get_time();
    if (e->interp->Invoke() != kTfLiteOk) {
        return -1;
    }
    return esp_timer_get_time() - t0;
}

extern "C" size_t tflm_engine_arena_used(tflm_engine_t *e) {
    return e->interp->arena_used_bytes();
}

extern "C" size_t tflm_engine_arena_size(tflm_engine_t *e) {
    return e->arena_bytes;
}
