# Board entry point: start the eyeauth app (command protocol + telemetry) on the serial line.
from eyeauth_fw import app

app.run()
