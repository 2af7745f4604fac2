# The port's frozen modules (asyncio, inisetup, ...) and the eyeauth app (firmware/manifest.py).
include("$(PORT_DIR)/boards/manifest.py")
include("$(BOARD_DIR)/../../../manifest.py")
