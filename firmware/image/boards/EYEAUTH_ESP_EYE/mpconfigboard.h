// eyeauth ESP-EYE. The board name is board_configs/esp-eye.json "micropython_board_name":
// os.uname().machine reads "Espressif ESP-EYE (spiram) with ESP32" on the board and the virtual one.
#define MICROPY_HW_BOARD_NAME "Espressif ESP-EYE (spiram)"
#define MICROPY_HW_MCU_NAME "ESP32"

// micropython-camera-API: camera pins and defaults of the ESP-EYE (its README's model list).
#define MICROPY_CAMERA_MODEL_ESP_EYE 1
