# eyeauth firmware package. Version of the app and of the protocol it speaks.
VERSION = "0.1.0"
