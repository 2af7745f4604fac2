# eyeauth `tflm` user C module (MicroPython ESP32 port, CMake build: USER_C_MODULES).
# Pattern: MicroPython docs "MicroPython external C modules" (INTERFACE library linked into
# `usermod`, micropy_gather_target_properties for the qstr scan), and cnadler86/micropython-
# camera-API src/micropython.cmake (include dirs of an IDF component fetched with
# idf_component_get_property, so MicroPython's qstr preprocessing finds the headers too).
#
# Needs the esp-tflite-micro component (which pulls esp-nn) in the build: firmware/image/
# build_in_container.sh adds `espressif/esp-tflite-micro` to the port's main component manifest.
include(${MICROPY_DIR}/py/py.cmake)

add_library(usermod_tflm INTERFACE)
target_sources(usermod_tflm INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modtflm.c
    ${CMAKE_CURRENT_LIST_DIR}/tflm_engine.cpp
)

# The component is "espressif__esp-tflite-micro" from the registry, "esp-tflite-micro" when
# cloned into a components folder: accept either.
idf_build_get_property(_eyeauth_components BUILD_COMPONENTS)
set(_eyeauth_tflm "")
foreach(_c ${_eyeauth_components})
    if(_c MATCHES "esp-tflite-micro$")
        set(_eyeauth_tflm ${_c})
    endif()
endforeach()
if(NOT _eyeauth_tflm)
    message(FATAL_ERROR "eyeauth tflm module: no esp-tflite-micro component in this build; add "
        "espressif/esp-tflite-micro to the main component's idf_component.yml "
        "(firmware/image/build_in_container.sh does)")
endif()
idf_component_get_property(_tflm_dir ${_eyeauth_tflm} COMPONENT_DIR)
idf_component_get_property(_tflm_includes ${_eyeauth_tflm} INCLUDE_DIRS)
list(TRANSFORM _tflm_includes PREPEND ${_tflm_dir}/)

target_include_directories(usermod_tflm INTERFACE ${CMAKE_CURRENT_LIST_DIR} ${_tflm_includes})
# Same tensor layout as the library (esp-tflite-micro sets it INTERFACE on its own target too).
target_compile_definitions(usermod_tflm INTERFACE TF_LITE_STATIC_MEMORY)

target_link_libraries(usermod INTERFACE usermod_tflm)
micropy_gather_target_properties(usermod_tflm)
