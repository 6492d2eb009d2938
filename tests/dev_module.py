"""dev.py (the README's set-up script, at the repository's root and not a package) as a module."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("dev", Path(__file__).resolve().parent.parent / "dev.py")
dev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev)
