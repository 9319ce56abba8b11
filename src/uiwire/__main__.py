"""``python -m uiwire demo``."""

import sys

from uiwire.cli import main

sys.exit(main())
