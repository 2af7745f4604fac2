// eyeauth TFLM benchmark firmware (ESP-IDF, built by the repo's platformio.ini): runs every zoo
// model W times as warm-up and N times measured with esp-tflite-micro + ESP-NN, and prints the
// results as the app's telemetry frames (firmware/PROTOCOL.md): one hello, then per measured run
// `T1 <seq> [boot, "bench_nn", model, latency_us, modeled_us, heap_free, arena_used,
// {"esp_nn": true, "run": i, "arena": "internal"|"spiram"}] <crc32>`. `eyeauth monitor --port P
// --db F` stores them; `eyeauth explore calibrate --db F` fits the timing model to them.
// The MLPerf Tiny runner's `infer N W` is the model for the loop (N runs after W warm-ups).
//
// TFLM API as in firmware/image/tflm/tflm_engine.cpp (MicroInterpreter(model, resolver, arena,
// size), AllocateTensors, Invoke, arena_used_bytes).
#include <stdio.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "../../image/tflm/eyeauth_ops.h"

#include "bench_frame.h"
#include "bench_models.h"

#ifndef BENCH_RUNS
#define BENCH_RUNS 20
#endif
#ifndef BENCH_WARMUP
#define BENCH_WARMUP 3
#endif

namespace {

char g_boot[9];
int g_seq = 0;

void frame(char kind, int seq, const char *payload) {
    bench_frame(stdout, kind, seq, payload);
}

void log_frame(const char *level, const char *msg) {
    char p[256];
    snprintf(p, sizeof(p), "{\"level\": \"%s\", \"msg\": \"%s\"}", level, msg);
    frame('L', 0, p);
}

// The operators of the board image's tflm module (one list: eyeauth_ops.h), so this app measures
// the audio front end's chunk time on the chip too (the timing model derives it).
tflite::MicroMutableOpResolver<kEyeauthOps> &resolver() {
    static tflite::MicroMutableOpResolver<kEyeauthOps> r;
    static bool ready = false;
    if (!ready) {
        eyeauth_add_ops(r);
        ready = true;
    }
    return r;
}

void bench(const BenchModel &m) {
    // One arena, one memory (TFLM cannot split it): internal SRAM when it fits, else PSRAM.
    const char *where = "internal";
    uint8_t *arena = (uint8_t *)heap_caps_aligned_alloc(16, m.arena_bytes, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    if (!arena) {
        where = "spiram";
        arena = (uint8_t *)heap_caps_aligned_alloc(16, m.arena_bytes, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
    }
    if (!arena) {
        log_frame("error", m.name);
        return;
    }
    const tflite::Model *model = tflite::GetModel(m.data);
    tflite::MicroInterpreter interp(model, resolver(), arena, m.arena_bytes);
    if (model->version() != TFLITE_SCHEMA_VERSION || interp.AllocateTensors() != kTfLiteOk) {
        log_frame("error", m.name);
        heap_caps_free(arena);
        return;
    }
    TfLiteTensor *in = interp.input(0);
    for (size_t i = 0; i < in->bytes; i++) {
        in->data.int8[i] = (int8_t)(esp_random() & 0xFF);
    }
    for (int w = 0; w < BENCH_WARMUP; w++) {
        interp.Invoke();
    }
    for (int run = 0; run < BENCH_RUNS; run++) {
        int64_t t0 = esp_timer_get_time();
        TfLiteStatus st = interp.Invoke();
        int64_t us = esp_timer_get_time() - t0;
        if (st != kTfLiteOk) {
            log_frame("error", m.name);
            break;
        }
        char p[320];
        snprintf(p, sizeof(p),
            "[\"%s\", \"bench_nn\", \"%s\", %lld, %ld, %u, %u, {\"esp_nn\": true, \"run\": %d, \"arena\": \"%s\"}]",
            g_boot, m.name, (long long)us, (long)m.modeled_us,
            (unsigned)heap_caps_get_free_size(MALLOC_CAP_8BIT), (unsigned)interp.arena_used_bytes(), run, where);
        frame('T', g_seq++, p);
    }
    heap_caps_free(arena);
}

}  // namespace

extern "C" void app_main(void) {
    snprintf(g_boot, sizeof(g_boot), "%08lx", (unsigned long)esp_random());
    char hello[160];
    snprintf(hello, sizeof(hello), "{\"fw\": \"tflm_bench 1\", \"proto\": 1, \"board\": \"%s\", \"boot\": \"%s\"}",
        kBenchBoard, g_boot);
    vTaskDelay(pdMS_TO_TICKS(2000));  // time for the host to open the port after the reset
    frame('H', 0, hello);
    for (int i = 0; i < kBenchModelCount; i++) {
        bench(kBenchModels[i]);
    }
    log_frame("info", "bench done");
    while (true) {
        vTaskDelay(pdMS_TO_TICKS(60000));
        frame('H', 0, hello);
    }
}
