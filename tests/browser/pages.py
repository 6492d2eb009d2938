"""Drive an exported lesson page (no kernel, no server): wait for its plots, and play its animations.

A plot is a `.plotly-graph-div` that plotly.js has drawn (`_fullLayout`) with at least one trace; an
animation is a plot with frames (plotly keeps them in `_transitionData._frames`). Playing one clicks
its Play button, as a lecturer does, and watches what the plot shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PLOT_SELECTOR = ".plotly-graph-div"
DRAW_TIMEOUT_S = 30.0
#: How long an animation gets to show two more frames after Play (its frames last about 0.1 s each).
PLAY_TIMEOUT_S = 10.0

_PLOTS_JS = f"""() => [...document.querySelectorAll('{PLOT_SELECTOR}')].map((plot) => ({{
    drawn: Boolean(plot._fullLayout),
    traces: (plot.data || []).length,
    frames: plot._transitionData ? plot._transitionData._frames.length : 0,
}}))"""

# What an animated plot shows now: its traces' data and its step slider's position (-1 without one).
_SHOWN_JS = f"""(index) => {{
    const plot = document.querySelectorAll('{PLOT_SELECTOR}')[index];
    const plain = (key, value) => key === 'uid' ? undefined
        : ArrayBuffer.isView(value) ? Array.from(value) : value;
    const sliders = plot._fullLayout.sliders || [];
    return {{
        data: JSON.stringify(plot.data.map((trace) => [trace.x, trace.y, trace.z]), plain),
        step: sliders.length ? sliders[0].active : -1,
    }};
}}"""


@dataclass
class Plot:
    """One plot on the page: whether plotly.js drew it, its number of traces and of frames."""

    drawn: bool
    traces: int
    frames: int


def open_page(page: Page, url: str) -> list[str]:
    """Go to `url`; return the list that collects the page's uncaught exceptions from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return errors


def wait_for_plots(page: Page, timeout_s: float = DRAW_TIMEOUT_S) -> list[Plot]:
    """Wait until every plot on the page is drawn with traces (or `timeout_s` passes); return them all."""
    try:
        page.wait_for_function(f"() => ({_PLOTS_JS})().every((p) => p.drawn && p.traces > 0)", timeout=timeout_s * 1000)
    except PlaywrightTimeoutError:
        pass  # the caller reports which plots are missing
    return [Plot(**plot) for plot in page.evaluate(_PLOTS_JS)]


@dataclass
class Playback:
    """What pressing Play did to an animated plot: the slider step and whether the data changed."""

    step_before: int
    step_after: int
    data_changed: bool


def press_play(page: Page, index: int, timeout_s: float = PLAY_TIMEOUT_S) -> Playback:
    """Click the Play button of plot `index` and wait until it shows another frame's data and, if it
    has a step slider, until the slider has moved on by at least two steps."""
    plot = page.locator(PLOT_SELECTOR).nth(index)
    before = page.evaluate(_SHOWN_JS, index)
    plot.scroll_into_view_if_needed()
    plot.locator("g.updatemenu-button", has_text="Play").first.click()
    try:
        page.wait_for_function(
            f"""([index, before]) => {{
                const now = ({_SHOWN_JS})(index);
                return now.data !== before.data && (before.step < 0 || now.step >= before.step + 2);
            }}""",
            arg=[index, before],
            timeout=timeout_s * 1000,
        )
    except PlaywrightTimeoutError:
        pass  # the caller asserts on what changed
    after = page.evaluate(_SHOWN_JS, index)
    return Playback(before["step"], after["step"], after["data"] != before["data"])
