import sys

from eadnet.cli import main

sys.exit(main())
