"""``python -m uiwire demo``, ``python -m uiwire types``."""

import sys

from uiwire.cli import main

sys.exit(main())
