# eyeauth ESP-EYE: ESP32, 4 MB flash, 8 MB PSRAM (4 MB addressable), OV2640, I2S mic.
# As ports/esp32/boards/ESP32_GENERIC with its SPIRAM variant (mpconfigboard.cmake +
# mpconfigvariant_SPIRAM.cmake of MicroPython), at 240 MHz, with this repo's partition table.
# Paths are relative to ports/esp32, as upstream's are.
set(IDF_TARGET esp32)

set(SDKCONFIG_DEFAULTS
    boards/sdkconfig.base
    boards/sdkconfig.ble
    boards/sdkconfig.spiram
    boards/sdkconfig.240mhz
    ${MICROPY_BOARD_DIR}/sdkconfig.board
)

# EYEAUTH_SECURE=1 (build.sh): flash encryption and secure boot; burns eFuses (docs/REAL_BOARD.md)
if(EYEAUTH_SECURE)
    list(APPEND SDKCONFIG_DEFAULTS ${MICROPY_BOARD_DIR}/../sdkconfig.secure_esp32)
endif()

set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)
