// The operators the eyeauth release uses, one list for the board image's `tflm` module
// (tflm_engine.cpp) and the benchmark app (firmware/tflm_bench/main/bench_main.cc): the zoo's
// networks (model cards' "ops": CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, LOGISTIC, MEAN,
// RESHAPE) and the few a retrained model commonly adds; the audio front end's
// (models/audio_fe.tflite): TFLM's signal library custom ops (signal/micro/kernels, registered by
// MicroMutableOpResolver::AddWindow() ... AddFilterBankLog(), the same kernels the tflite-micro
// Python interpreter runs on the host) and the builtins its graph uses around them
// (STRIDED_SLICE, CONCATENATION, PAD, PACK, CAST, RESHAPE). esp-tflite-micro's CMakeLists.txt
// compiles signal/micro/kernels/*.cc and signal/src (kissfft int16) into the component (checked in
// its repository's CMakeLists; whether the pinned 1.3.5 already carries them is checked by the
// image build, docs/REAL_BOARD.md). tests/firmware/test_tflm_bench_host.py checks that this list
// covers every operator of the committed models.
#pragma once

constexpr int kEyeauthOps = 26;

template <typename Resolver>
inline void eyeauth_add_ops(Resolver &r) {
    r.AddConv2D();
    r.AddDepthwiseConv2D();
    r.AddFullyConnected();
    r.AddLogistic();
    r.AddMean();
    r.AddReshape();
    r.AddAdd();
    r.AddMul();
    r.AddAveragePool2D();
    r.AddMaxPool2D();
    r.AddSoftmax();
    r.AddQuantize();
    r.AddDequantize();
    r.AddPad();
    r.AddConcatenation();
    r.AddHardSwish();
    r.AddStridedSlice();
    r.AddPack();
    r.AddCast();
    r.AddWindow();
    r.AddFftAutoScale();
    r.AddRfft();
    r.AddEnergy();
    r.AddFilterBank();
    r.AddFilterBankSquareRoot();
    r.AddFilterBankLog();
}
