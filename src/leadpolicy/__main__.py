"""`python -m leadpolicy` runs the command line."""

import sys

from leadpolicy.cli.main import main

sys.exit(main())
