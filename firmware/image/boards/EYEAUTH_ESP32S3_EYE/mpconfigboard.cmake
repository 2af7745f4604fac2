# eyeauth ESP32-S3-EYE: ESP32-S3-WROOM-1 N8R8 (8 MB flash, 8 MB octal PSRAM), native USB.
# As ports/esp32/boards/ESP32_GENERIC_S3 with its SPIRAM_OCT variant (same sdkconfig fragments),
# with this repo's partition table. Paths are relative to ports/esp32, as upstream's are.
set(IDF_TARGET esp32s3)

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    boards/sdkconfig.usb
    boards/sdkconfig.ble
    boards/sdkconfig.spiram_sx
    boards/sdkconfig.240mhz
    boards/sdkconfig.spiram_oct
    ${MICROPY_BOARD_DIR}/sdkconfig.board
)

# EYEAUTH_SECURE=1 (build.sh): flash encryption and secure boot; burns eFuses (docs/REAL_BOARD.md)
if(EYEAUTH_SECURE)
    list(APPEND SDKCONFIG_DEFAULTS ${MICROPY_BOARD_DIR}/../sdkconfig.secure_esp32s3)
endif()

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
