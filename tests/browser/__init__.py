"""Real-browser test harness: a JupyterLab server on loopback driven by headless Chromium (Playwright)."""
