// eyeauth ESP32-S3-EYE (board_configs/esp32-s3-eye.json "micropython_board_name").
#define MICROPY_HW_BOARD_NAME "Espressif ESP32-S3-EYE (spiram octal)"
#define MICROPY_HW_MCU_NAME "ESP32S3"

#define MICROPY_CAMERA_MODEL_ESP32S3_EYE 1
