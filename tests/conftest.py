import sys
from pathlib import Path

# the tests share small helper modules that live beside them
sys.path.insert(0, str(Path(__file__).parent))
