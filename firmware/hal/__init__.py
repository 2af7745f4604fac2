# Hardware abstraction: one small board object with the serial line, clock, memory, sensors and
# nn. The backend is chosen by what the firmware finds: the virtual board's supervisor provides
# a `_vboard` module (host service address, board name); a real board has none and gets "esp32".
# (sys.platform is "esp32" on both, as it must be for user code.) Nothing touches hardware at
# import.


def board():
    try:
        import _vboard  # noqa: F401  (only the virtual board has it)
    except ImportError:
        from hal import esp32 as backend
    else:
        from hal import sim as backend
    return backend.Board()
