# Board entry point: start the eyeauth app (command protocol + telemetry) on the serial line.
# Ctrl-C off first thing (MicroPython turns it on for every file it runs): a paired board's app
# owns the line from its first instruction; app.run turns it back on for an unpaired board. The
# try is the first instruction, so a Ctrl-C that lands before kbd_intr(-1) is caught too: a
# paired board then restarts instead of stopping in the REPL.
try:
    import micropython

    micropython.kbd_intr(-1)
except KeyboardInterrupt:
    micropython.kbd_intr(-1)
    import os

    try:
        os.stat("/pairing.key")
    except OSError:
        raise KeyboardInterrupt  # unpaired: the REPL, as before
    import machine

    machine.reset()
from eyeauth_fw import app  # noqa: E402

app.main()
