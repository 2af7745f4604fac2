// eyeauth `tflm` user C module: TensorFlow Lite Micro (+ ESP-NN) for MicroPython on the ESP32 and
// ESP32-S3. The API is what firmware/hal/esp32.py uses, and no more (docs/REAL_BOARD.md):
//
//   import tflm
//   it = tflm.Interpreter(model, arena_size, *, arena=tflm.ARENA_INTERNAL)
//        model: bytes-like .tflite flatbuffer (copied: the caller may drop it afterwards)
//        arena_size: bytes of tensor arena; arena: ARENA_INTERNAL (SRAM, fast) | ARENA_SPIRAM.
//        One arena, one memory: TFLM cannot split an arena across SRAM and PSRAM.
//        Raises MemoryError (no room) or ValueError (bad model, unknown op, arena too small).
//   it.input(i=0), it.output(i=0) -> memoryview over the tensor (valid until deinit), typecode by
//        tensor type: 'b' int8, 'B' uint8, 'h' int16, 'i' int32, 'I' uint32, 'f' float32
//   it.input_details(i=0), it.output_details(i=0) -> (shape tuple, scale, zero_point, tflite type)
//   it.invoke() -> microseconds Invoke() took (esp_timer); RuntimeError if it fails
//   it.arena_used_bytes() -> MicroInterpreter::arena_used_bytes(); it.arena_size() -> arena_size
//   it.deinit() (also on garbage collection) frees arena, model copy and interpreter
//
// MicroPython C API as of v1.25 (pinned in firmware/image/versions.env): MP_DEFINE_CONST_OBJ_TYPE,
// mp_obj_malloc_with_finaliser, mp_arg_parse_all_kw_array, mp_get_buffer_raise,
// mp_obj_new_memoryview (py/objarray.h), MP_REGISTER_MODULE(name, module) (docs: develop/cmodules).
#include <string.h>

#include "py/runtime.h"
#include "py/objarray.h"
#include "py/objtuple.h"

#include "tflm_engine.h"

typedef struct _tflm_interp_obj_t {
    mp_obj_base_t base;
    tflm_engine_t *engine;
} tflm_interp_obj_t;

static tflm_engine_t *engine(mp_obj_t self_in) {
    tflm_interp_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->engine == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("tflm: interpreter was deinit()ed"));
    }
    return self->engine;
}

static mp_obj_t interp_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *all_args) {
    enum { ARG_model, ARG_arena_size, ARG_arena };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_model, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_arena_size, MP_ARG_REQUIRED | MP_ARG_INT, {.u_int = 0} },
        { MP_QSTR_arena, MP_ARG_KW_ONLY | MP_ARG_INT, {.u_int = TFLM_ARENA_INTERNAL} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all_kw_array(n_args, n_kw, all_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    mp_buffer_info_t model;
    mp_get_buffer_raise(args[ARG_model].u_obj, &model, MP_BUFFER_READ);
    mp_int_t arena_size = args[ARG_arena_size].u_int;
    if (arena_size <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("tflm: arena_size must be > 0"));
    }
    char err[128];
    err[0] = 0;
    tflm_engine_t *e = tflm_engine_new(model.buf, model.len, (size_t)arena_size,
        (int)args[ARG_arena].u_int, err, sizeof(err));
    if (e == NULL) {
        if (strncmp(err, "cannot allocate", 15) == 0 || strncmp(err, "no memory", 9) == 0) {
            mp_raise_msg_varg(&mp_type_MemoryError, MP_ERROR_TEXT("tflm: %s"), err);
        }
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tflm: %s"), err);
    }
    tflm_interp_obj_t *self = mp_obj_malloc_with_finaliser(tflm_interp_obj_t, type);
    self->engine = e;
    return MP_OBJ_FROM_PTR(self);
}

// The memoryview's typecode follows the tensor's type (TfLiteType values of
// tensorflow/lite/core/c/tflite_types.h: kTfLiteFloat32 1, kTfLiteInt32 2, kTfLiteUInt8 3,
// kTfLiteInt16 7, kTfLiteInt8 9, kTfLiteUInt32 16), so `it.input(0)[:] = array("h", ...)` fills an
// int16 input (the audio front end's samples) and bytes(it.output(0)) is the raw tensor either way.
static char typecode(int type, size_t *item) {
    switch (type) {
        case 1: *item = 4; return 'f';
        case 2: *item = 4; return 'i';
        case 3: *item = 1; return 'B';
        case 7: *item = 2; return 'h';
        case 16: *item = 4; return 'I';
        default: *item = 1; return 'b';
    }
}

static mp_obj_t tensor_view(mp_obj_t self_in, size_t n_args, const mp_obj_t *args, bool out) {
    int i = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    tflm_tensor_info_t t;
    int r = out ? tflm_engine_output(engine(self_in), i, &t) : tflm_engine_input(engine(self_in), i, &t);
    if (r != 0) {
        mp_raise_msg(&mp_type_IndexError, MP_ERROR_TEXT("tflm: no such tensor"));
    }
    size_t item;
    char tc = typecode(t.type, &item);
    return mp_obj_new_memoryview(tc, t.bytes / item, t.data);
}

static mp_obj_t interp_input(size_t n_args, const mp_obj_t *args) {
    return tensor_view(args[0], n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(interp_input_obj, 1, 2, interp_input);

static mp_obj_t interp_output(size_t n_args, const mp_obj_t *args) {
    return tensor_view(args[0], n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(interp_output_obj, 1, 2, interp_output);

static mp_obj_t details(size_t n_args, const mp_obj_t *args, bool out) {
    int i = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    tflm_tensor_info_t t;
    int r = out ? tflm_engine_output(engine(args[0]), i, &t) : tflm_engine_input(engine(args[0]), i, &t);
    if (r != 0) {
        mp_raise_msg(&mp_type_IndexError, MP_ERROR_TEXT("tflm: no such tensor"));
    }
    mp_obj_t shape[6];
    for (int k = 0; k < t.dims; k++) {
        shape[k] = MP_OBJ_NEW_SMALL_INT(t.shape[k]);
    }
    mp_obj_t items[4] = {
        mp_obj_new_tuple(t.dims, shape),
        mp_obj_new_float(t.scale),
        MP_OBJ_NEW_SMALL_INT(t.zero_point),
        MP_OBJ_NEW_SMALL_INT(t.type),
    };
    return mp_obj_new_tuple(4, items);
}

static mp_obj_t interp_input_details(size_t n_args, const mp_obj_t *args) {
    return details(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(interp_input_details_obj, 1, 2, interp_input_details);

static mp_obj_t interp_output_details(size_t n_args, const mp_obj_t *args) {
    return details(n_args, args, true);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(interp_output_details_obj, 1, 2, interp_output_details);

static mp_obj_t interp_invoke(mp_obj_t self_in) {
    int64_t us = tflm_engine_invoke(engine(self_in));
    if (us < 0) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("tflm: Invoke failed"));
    }
    return mp_obj_new_int_from_ll(us);
}
static MP_DEFINE_CONST_FUN_OBJ_1(interp_invoke_obj, interp_invoke);

static mp_obj_t interp_arena_used_bytes(mp_obj_t self_in) {
    return mp_obj_new_int_from_uint(tflm_engine_arena_used(engine(self_in)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(interp_arena_used_bytes_obj, interp_arena_used_bytes);

static mp_obj_t interp_arena_size(mp_obj_t self_in) {
    return mp_obj_new_int_from_uint(tflm_engine_arena_size(engine(self_in)));
}
static MP_DEFINE_CONST_FUN_OBJ_1(interp_arena_size_obj, interp_arena_size);

static mp_obj_t interp_deinit(mp_obj_t self_in) {
    tflm_interp_obj_t *self = MP_OBJ_TO_PTR(self_in);
    tflm_engine_free(self->engine);
    self->engine = NULL;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(interp_deinit_obj, interp_deinit);

static const mp_rom_map_elem_t interp_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_input), MP_ROM_PTR(&interp_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_output), MP_ROM_PTR(&interp_output_obj) },
    { MP_ROM_QSTR(MP_QSTR_input_details), MP_ROM_PTR(&interp_input_details_obj) },
    { MP_ROM_QSTR(MP_QSTR_output_details), MP_ROM_PTR(&interp_output_details_obj) },
    { MP_ROM_QSTR(MP_QSTR_invoke), MP_ROM_PTR(&interp_invoke_obj) },
    { MP_ROM_QSTR(MP_QSTR_arena_used_bytes), MP_ROM_PTR(&interp_arena_used_bytes_obj) },
    { MP_ROM_QSTR(MP_QSTR_arena_size), MP_ROM_PTR(&interp_arena_size_obj) },
    { MP_ROM_QSTR(MP_QSTR_deinit), MP_ROM_PTR(&interp_deinit_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&interp_deinit_obj) },
};
static MP_DEFINE_CONST_DICT(interp_locals_dict, interp_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    tflm_type_interpreter,
    MP_QSTR_Interpreter,
    MP_TYPE_FLAG_NONE,
    make_new, interp_make_new,
    locals_dict, &interp_locals_dict
    );

static const mp_rom_map_elem_t tflm_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_tflm) },
    { MP_ROM_QSTR(MP_QSTR_Interpreter), MP_ROM_PTR(&tflm_type_interpreter) },
    { MP_ROM_QSTR(MP_QSTR_ARENA_INTERNAL), MP_ROM_INT(TFLM_ARENA_INTERNAL) },
    { MP_ROM_QSTR(MP_QSTR_ARENA_SPIRAM), MP_ROM_INT(TFLM_ARENA_SPIRAM) },
    { MP_ROM_QSTR(MP_QSTR_API), MP_ROM_INT(1) },
};
static MP_DEFINE_CONST_DICT(tflm_module_globals, tflm_module_globals_table);

const mp_obj_module_t tflm_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&tflm_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_tflm, tflm_user_cmodule);
