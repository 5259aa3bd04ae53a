"""python -m xsoar_local: same as the xsoar-local command."""
import sys

from xsoar_local.cli import main

sys.exit(main())
