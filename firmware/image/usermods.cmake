# USER_C_MODULES for the eyeauth board image: this repo's `tflm` module and the camera module of
# cnadler86/micropython-camera-API (cloned by build_in_container.sh at CAMERA_API_REF; its folder
# comes as -D EYEAUTH_CAMERA_API_DIR).
include(${CMAKE_CURRENT_LIST_DIR}/tflm/micropython.cmake)
if(NOT EYEAUTH_CAMERA_API_DIR)
    message(FATAL_ERROR "eyeauth: pass -D EYEAUTH_CAMERA_API_DIR=<micropython-camera-API checkout> "
        "(firmware/image/build_in_container.sh does)")
endif()
include(${EYEAUTH_CAMERA_API_DIR}/src/micropython.cmake)
