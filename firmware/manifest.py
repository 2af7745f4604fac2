# What goes into the board: frozen into the firmware image (firmware/image) and deployed onto the
# filesystem by `eyeauth deploy`. Used by micropython's make (freeze) and read by the host.
package("eyeauth_fw")
package("hal")
module("main.py")
module("boot.py")
