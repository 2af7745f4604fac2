import sys

from eyeauth.cli.main import main

sys.exit(main())
