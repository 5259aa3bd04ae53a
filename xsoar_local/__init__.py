"""xsoar_local: run the CertStream content pack outside Cortex XSOAR.

The pack's code is never changed to run here: the stand-ins in ``stubs/`` play the
``demistomock`` and ``CommonServerPython`` modules XSOAR injects, backed by a state folder
(see ``state.py``) instead of the XSOAR server.
"""
import os

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
STUBS_DIR = os.path.join(PACKAGE_DIR, "stubs")
SAMPLES_DIR = os.path.join(PACKAGE_DIR, "samples")
DEFAULT_STATE_DIR = ".xsoar-local"
