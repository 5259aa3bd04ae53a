"""Puts the XSOAR runtime modules and the pack's API modules on sys.path for every test.

By default the local stand-ins (xsoar_local/stubs) play demistomock and CommonServerPython.
With XSOAR_RUNTIME_DIR=<dir> holding the real demistomock.py and CommonServerPython.py, the same
tests run against the real modules (the stand-ins still supply the empty CommonServerUserPython and
DemistoClassApiModule when that folder lacks them).
"""
import glob
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
STUBS = os.path.join(ROOT, "xsoar_local", "stubs")

_paths = [STUBS]
if os.environ.get("XSOAR_RUNTIME_DIR"):
    _paths.insert(0, os.path.abspath(os.environ["XSOAR_RUNTIME_DIR"]))
_paths += sorted(glob.glob(os.path.join(ROOT, "Packs", "ApiModules", "Scripts", "*")))
for _p in reversed(_paths):
    if _p not in sys.path:
        sys.path.insert(0, _p)
