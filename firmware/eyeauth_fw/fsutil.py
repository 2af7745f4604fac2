# Atomic file replacement: write a temporary file, then rename it over the target.
import os


def replace(tmp, path):
    try:
        os.rename(tmp, path)
    except OSError:
        # A filesystem whose rename does not replace: remove, then rename. A power cut between
        # the two leaves the complete tmp file, which the readers fall back to.
        os.remove(path)
        os.rename(tmp, path)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    replace(tmp, path)
