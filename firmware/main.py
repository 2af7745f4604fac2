# Board entry point: start the eyeauth app (command protocol + telemetry) on the serial line.
# Ctrl-C off first thing (MicroPython enables it for every file it runs): a paired board's app
# owns the line from its first instruction; app.run turns it back on for an unpaired board.
import micropython

micropython.kbd_intr(-1)
from eyeauth_fw import app  # noqa: E402

app.main()
