# Board entry point: start the eyeauth app (command protocol + telemetry) on the serial line.
# MicroPython turns Ctrl-C on for every file it runs. Ctrl-C goes off first: a board raises a
# Ctrl-C that landed before that at the VM's next jump (the `if`, still inside the try; a try
# that ended before any jump would let it escape to the REPL), the virtual board's VM where it
# lands, so each handler turns Ctrl-C off again first thing. From then on 0x03 is data; app.run
# turns Ctrl-C back on for an unpaired board (mpremote's way in) and keeps it off on a paired one
# (docs/SECURITY.md, "Boot").
try:
    import micropython

    micropython.kbd_intr(-1)
    _on = 1
    if _on:  # a jump: a pending Ctrl-C is raised here, inside the try
        pass
except KeyboardInterrupt:
    try:
        import micropython

        micropython.kbd_intr(-1)
    except KeyboardInterrupt:
        import micropython

        micropython.kbd_intr(-1)
from eyeauth_fw import app  # noqa: E402

app.main()
