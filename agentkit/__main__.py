"""`python -m agentkit`: the same command line as the `agentkit` console script."""

import sys

from .cli import main

sys.exit(main())
