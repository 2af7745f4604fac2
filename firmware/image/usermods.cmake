# USER_C_MODULES for the eyeauth board image: this repo's `tflm` module and the camera module of
# cnadler86/micropython-camera-API (cloned by build_in_container.sh at CAMERA_API_REF).
include(${CMAKE_CURRENT_LIST_DIR}/tflm/micropython.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/build/micropython-camera-API/src/micropython.cmake)
