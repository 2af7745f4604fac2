// Telemetry frames of firmware/PROTOCOL.md for the benchmark firmware, in plain C++ (no IDF):
// frame = kind "1" SP seq SP payload SP crc LF, crc = CRC-32 (zlib) of the bytes before its SP.
// tests/firmware/test_tflm_bench_host.py compiles this on the host and decodes the output with
// eyeauth.link.protocol.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// zlib's CRC-32: reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF; bitwise.
inline uint32_t bench_crc32(const char *s, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= (uint8_t)s[i];
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        }
    }
    return c ^ 0xFFFFFFFFu;
}

// Writes one frame to out; returns false when it does not fit the 512-byte line buffer.
inline bool bench_frame(FILE *out, char kind, int seq, const char *payload) {
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%c1 %d %s", kind, seq, payload);
    if (n <= 0 || n >= (int)sizeof(buf)) {
        return false;
    }
    fprintf(out, "%s %08lx\n", buf, (unsigned long)bench_crc32(buf, (size_t)n));
    fflush(out);
    return true;
}
