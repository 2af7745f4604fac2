#!/usr/bin/env bash
# The board image build, inside espressif/idf (versions.env: IDF_IMAGE), whose entrypoint has
# sourced ESP-IDF's export.sh (IDF_PATH, idf.py, the Xtensa toolchains). Steps follow
# MicroPython's ports/esp32/README.md (make submodules; idf.py with MICROPY_BOARD,
# MICROPY_BOARD_DIR, USER_C_MODULES) and micropython-camera-API's README and CI workflow
# (.github/workflows/ESP32.yml: esp32-camera cloned into $IDF_PATH/components; makeimg.py).
set -euo pipefail
BOARD=${1:?board: esp-eye or esp32-s3-eye}
REPO=/eyeauth
IMG=$REPO/firmware/image
. "$IMG/versions.env"
case "$BOARD" in
    esp-eye)      MPBOARD=EYEAUTH_ESP_EYE;     TARGET=esp32;   PARTS=$REPO/partitions.csv ;;
    esp32-s3-eye) MPBOARD=EYEAUTH_ESP32S3_EYE; TARGET=esp32s3; PARTS=$IMG/boards/$MPBOARD/partitions.csv ;;
    *) echo "build: unknown board '$BOARD' (esp-eye, esp32-s3-eye)" >&2; exit 2 ;;
esac
# Sources and outputs under the repo's build/ (git-ignored), outside firmware/ (whose .py files
# the tests compile for the board).
W=$REPO/build/image
OUT=$W/out/$BOARD
mkdir -p "$W" "$OUT"
git config --global --add safe.directory '*'

# 1. MicroPython at the pinned tag, its submodules, mpy-cross (freezes the app).
if [ ! -d "$W/micropython" ]; then
    git clone --depth 1 --branch "$MICROPYTHON_REF" https://github.com/micropython/micropython "$W/micropython"
fi
make -C "$W/micropython/mpy-cross"
make -C "$W/micropython/ports/esp32" BOARD=ESP32_GENERIC submodules

# 2. Camera: espressif/esp32-camera into the IDF's components, micropython-camera-API at a commit.
if [ ! -d "$IDF_PATH/components/esp32-camera" ]; then
    git clone --depth 1 --branch "$ESP32_CAMERA_REF" https://github.com/espressif/esp32-camera \
        "$IDF_PATH/components/esp32-camera"
fi
if [ ! -d "$W/micropython-camera-API" ]; then
    git clone https://github.com/cnadler86/micropython-camera-API "$W/micropython-camera-API"
fi
git -C "$W/micropython-camera-API" checkout -q "$CAMERA_API_REF"

# 3. TFLM + ESP-NN from the ESP Component Registry, as a dependency of the port's main component.
PORT=$W/micropython/ports/esp32
MAIN=$PORT/main_$TARGET
[ -d "$MAIN" ] || MAIN=$PORT/main
if ! grep -q "esp-tflite-micro" "$MAIN/idf_component.yml"; then
    printf '\n  espressif/esp-tflite-micro: "%s"\n' "$ESP_TFLITE_MICRO_VERSION" >> "$MAIN/idf_component.yml"
fi

# 4. The partition table beside the port (sdkconfig.board names it partitions-eyeauth.csv).
# A secure image (EYEAUTH_SECURE=1) takes the board's partitions-secure.csv: table at 0xF000, vfs encrypted.
if [ -n "${EYEAUTH_SECURE:-}" ]; then PARTS=$IMG/boards/$MPBOARD/partitions-secure.csv; fi
cp "$PARTS" "$PORT/partitions-eyeauth.csv"

# 5. Build: board folder from this repo, the tflm + camera user C modules, the app frozen in.
cd "$PORT"
idf.py -D MICROPY_BOARD="$MPBOARD" -D MICROPY_BOARD_DIR="$IMG/boards/$MPBOARD" \
    -D USER_C_MODULES="$IMG/usermods.cmake" -D EYEAUTH_CAMERA_API_DIR="$W/micropython-camera-API" \
    -D EYEAUTH_SECURE="${EYEAUTH_SECURE:-}" \
    -B "build-$MPBOARD" build
cd "build-$MPBOARD"
python ../makeimg.py sdkconfig bootloader/bootloader.bin partition_table/partition-table.bin \
    micropython.bin firmware.bin micropython.uf2

cp firmware.bin micropython.bin bootloader/bootloader.bin partition_table/partition-table.bin "$OUT/"
ADDR=0x1000; [ "$TARGET" = esp32s3 ] && ADDR=0x0
cat > "$OUT/flash.txt" <<TXT
# $BOARD: MicroPython $MICROPYTHON_REF, ESP-IDF from $IDF_IMAGE, esp-tflite-micro $ESP_TFLITE_MICRO_VERSION,
# esp32-camera $ESP32_CAMERA_REF, micropython-camera-API $CAMERA_API_REF
eyeauth flash --port /dev/ttyUSB0 --firmware build/image/out/$BOARD/firmware.bin --address $ADDR
TXT
chown -R "${HOST_UID:-0}:${HOST_GID:-0}" "$W"
echo "built $OUT/firmware.bin"
