"""`python -m mgdl_core` = the `mgdl` command line."""
import sys

from .cli import main

sys.exit(main())
