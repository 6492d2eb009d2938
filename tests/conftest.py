import sys
from pathlib import Path

import pytest

# the tests share small helper modules that live beside them
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a test module of tiny models (`lnviz.scheduler.threads`)."""
    from lnviz.scheduler import threads

    with threads(1):
        yield


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium shared by a module's browser tests (`browser.lab.launched_chromium`)."""
    from browser.lab import launched_chromium

    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium, lab):
    """A fresh browser tab on the module's `lab` server; the server's kernels are shut down after."""
    from browser.lab import LAB_VIEWPORT, shutdown_kernels

    context = chromium.new_context(viewport=LAB_VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
        shutdown_kernels(lab)
