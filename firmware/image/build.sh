#!/usr/bin/env bash
# Builds the eyeauth MicroPython image for a board, in Espressif's ESP-IDF container image:
#
#     firmware/image/build.sh esp-eye          # or esp32-s3-eye
#     -> build/image/out/<board>/firmware.bin (+ flash.txt: the eyeauth flash command)
#
# Needs Docker and network access for the first run (git clones and the ESP Component Registry;
# versions pinned in versions.env). Sources and caches stay in build/image/ (ignored by git); a
# second build reuses them. Nothing here runs on the host except docker.
set -euo pipefail
BOARD=${1:-esp-eye}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"
command -v docker >/dev/null || { echo "build.sh: needs docker (https://docs.docker.com/get-docker/)" >&2; exit 2; }
exec docker run --rm \
    -v "$REPO":/eyeauth \
    -e HOST_UID="$(id -u)" -e HOST_GID="$(id -g)" -e EYEAUTH_SECURE="${EYEAUTH_SECURE:-}" \
    "$IDF_IMAGE" \
    bash /eyeauth/firmware/image/build_in_container.sh "$BOARD"
