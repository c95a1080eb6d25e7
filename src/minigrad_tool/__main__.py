"""`python -m minigrad_tool` is the `minigrad` command."""

import sys

from minigrad_tool._entry import main

sys.exit(main())
