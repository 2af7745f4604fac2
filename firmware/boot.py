# Runs on every reset before main.py; keep it tiny. MicroPython's ESP32 port turns Ctrl-C on
# for every file it runs and runs main.py only when boot.py ended without an exception
# (ports/esp32/main.c; docs/SECURITY.md, "Boot"): a Ctrl-C landing here would leave the board
# in the REPL with the filesystem mounted. So Ctrl-C goes off first. A board raises a Ctrl-C
# that arrived before that at the VM's next jump (the `if`, still inside the try); the virtual
# board's VM raises it where it lands, so each handler turns Ctrl-C off again first thing.
try:
    import micropython

    micropython.kbd_intr(-1)
    _on = 1
    if _on:  # a jump: a pending Ctrl-C is raised here, inside the try
        import gc

        gc.collect()
except BaseException:  # nothing may stop boot.py: main.py must run
    try:
        import micropython

        micropython.kbd_intr(-1)
    except BaseException:
        import micropython

        micropython.kbd_intr(-1)
