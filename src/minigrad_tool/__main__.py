"""`python -m minigrad` is the `minigrad` command."""

import sys

from minigrad_tool.cli import main

sys.exit(main())
