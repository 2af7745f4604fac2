# Hardware abstraction: one small board object with the serial line, clock, memory, sensors and
# nn. The backend is chosen by platform: "esp32" on the board, "sim" on the virtual board (the
# unix port). Nothing touches hardware at import.
import sys


def board():
    if sys.platform == "esp32":
        from hal import esp32 as backend
    else:
        from hal import sim as backend
    return backend.Board()
