"""Is every piece of a plot's text visible? Hit-tests each SVG <text> of every plotly figure in the notebook.

A text is visible when the topmost element at the centre of each of its lines (after scrolling the
notebook so the line is on screen) is that text, and its box lies inside its figure's box and its
cell's output area. For the
hit test only text and plotly's toolbar catch the pointer, so a label under the toolbar, under
another label, or clipped away (by the figure's SVG or the output area) is found, while the plot's
drag rectangles, which cover every tick label and catch the mouse, are not taken for a cover. Two
labels whose boxes overlap by more than OVERLAP_SHARE of the smaller one are stacked: readable
neither, though each centre may still be on top. An axis title must not lie over a plot's area (its
neighbour's, in a row of subplots), where the curves cross it.
"""

from __future__ import annotations

import time

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .notebook import PLOT_SELECTOR

#: Two labels whose boxes share more than this part of the smaller box are stacked on each other.
OVERLAP_SHARE = 0.03
#: Layout settles when every figure keeps its size for this long (plotly redraws after a resize).
SETTLE_S = 1.0
SETTLE_TIMEOUT_S = 20.0

_CURRENT = "window.jupyterapp.shell.currentWidget"

_HIT_STYLE = f"""
{PLOT_SELECTOR} * {{ pointer-events: none !important; }}
{PLOT_SELECTOR} svg text, {PLOT_SELECTOR} svg text *,
{PLOT_SELECTOR} .modebar-container, {PLOT_SELECTOR} .modebar-container * {{ pointer-events: auto !important; }}
"""

_PROBLEMS_JS = f"""([hitStyle, overlapShare]) => {{
    const notebook = {_CURRENT}.content.node;
    const scroller = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    const style = document.createElement('style');
    style.textContent = hitStyle;
    document.head.appendChild(style);
    const problems = [];
    const quote = (text) => JSON.stringify(text.length > 60 ? text.slice(0, 57) + '...' : text);
    const describe = (hit) => {{
        if (!hit) return 'nothing (off the page)';
        if (hit.closest('.modebar-container')) return "plotly's toolbar";
        const text = hit.closest('text');
        if (text) return `the label ${{quote(text.textContent.trim())}}`;
        return `<${{hit.tagName.toLowerCase()}} class="${{hit.getAttribute('class') || ''}}"> (clipped)`;
    }};
    // Scrolls only the notebook, vertically: a figure wider than its output area must stay clipped.
    const onScreen = (node) => {{
        const box = node.getBoundingClientRect();
        const view = scroller.getBoundingClientRect();
        if (box.top < view.top + 4 || box.bottom > view.bottom - 4) {{
            scroller.scrollTop += (box.top + box.bottom) / 2 - (view.top + view.bottom) / 2;
        }}
        return node.getBoundingClientRect();
    }};
    try {{
        [...notebook.querySelectorAll('{PLOT_SELECTOR}')].forEach((plot, index) => {{
            const svg = plot.querySelector('.main-svg');
            if (!svg) return;
            const title = plot.querySelector('.gtitle');
            const name = `figure ${{index}}` + (title ? ` (${{quote(title.textContent.trim())}})` : '');
            onScreen(svg);
            const output = plot.closest('.jp-OutputArea-output');
            const figure = svg.getBoundingClientRect();
            if (output) {{
                const area = output.getBoundingClientRect();
                const right = area.left + output.clientWidth;
                if (figure.right > right + 1 || figure.left < area.left - 1) {{
                    problems.push(`${{name}}: ${{Math.round(figure.width)}} px wide, wider than its output area `
                        + `(${{Math.round(output.clientWidth)}} px)`);
                }}
            }}
            const texts = [...plot.querySelectorAll('svg text')].filter((text) => {{
                if (text.closest('.hoverlayer') || !text.textContent.trim()) return false;
                const box = text.getBoundingClientRect();
                return box.width > 0 && box.height > 0;
            }});
            const boxes = [];
            texts.forEach((text) => {{
                const label = quote(text.textContent.trim());
                const lines = [...text.querySelectorAll('tspan.line')];
                for (const line of (lines.length ? lines : [text])) {{
                    if (!line.textContent.trim()) continue;
                    const box = onScreen(line);
                    const hit = document.elementFromPoint((box.left + box.right) / 2, (box.top + box.bottom) / 2);
                    if (!(hit && text.contains(hit))) {{
                        problems.push(`${{name}}: ${{label}} is hidden under ${{describe(hit)}}`);
                        break;
                    }}
                }}
                const box = text.getBoundingClientRect();
                const inside = svg.getBoundingClientRect();
                if (box.left < inside.left - 1 || box.right > inside.right + 1
                    || box.top < inside.top - 1 || box.bottom > inside.bottom + 1) {{
                    problems.push(`${{name}}: ${{label}} sticks out of the figure`);
                }} else if (output) {{
                    const area = output.getBoundingClientRect();
                    if (box.left < area.left - 1 || box.right > area.left + output.clientWidth + 1) {{
                        problems.push(`${{name}}: ${{label}} sticks out of the output area`);
                    }}
                }}
                // relative to the figure: the notebook scrolls between two texts' measurements
                // an axis title (class xtitle, x2title, ytitle, ...) must not lie over another plot's area
                if (/^[xy][0-9]*title$/.test(text.getAttribute('class') || '')) {{
                    const own = box.width * box.height;
                    for (const area of plot.querySelectorAll('.draglayer .nsewdrag')) {{
                        const r = area.getBoundingClientRect();
                        const w = Math.min(box.right, r.right) - Math.max(box.left, r.left);
                        const h = Math.min(box.bottom, r.bottom) - Math.max(box.top, r.top);
                        if (w > 0 && h > 0 && w * h > overlapShare * own) {{
                            problems.push(`${{name}}: the axis title ${{label}} lies over a plot`);
                            break;
                        }}
                    }}
                }}
                boxes.push([label, {{
                    left: box.left - inside.left, right: box.right - inside.left,
                    top: box.top - inside.top, bottom: box.bottom - inside.top,
                }}]);
            }});
            for (let i = 0; i < boxes.length; i++) {{
                for (let j = i + 1; j < boxes.length; j++) {{
                    const [a, p] = boxes[i];
                    const [b, q] = boxes[j];
                    const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
                    const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
                    const area = (r) => (r.right - r.left) * (r.bottom - r.top);
                    const smaller = Math.min(area(p), area(q));
                    if (w > 0 && h > 0 && w * h > overlapShare * smaller) {{
                        problems.push(`${{name}}: ${{a}} and ${{b}} are stacked on each other`);
                    }}
                }}
            }}
        }});
    }} finally {{
        style.remove();
    }}
    return problems;
}}"""

_SIZES_JS = f"""() => JSON.stringify([...{_CURRENT}.content.node.querySelectorAll('{PLOT_SELECTOR} .main-svg')]
    .map((svg) => [svg.getAttribute('width'), svg.getAttribute('height')]))"""


def show_file_browser(page: Page) -> None:
    """Open the left sidebar on the file browser, as a lecturer's JupyterLab shows it."""
    page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")
    page.wait_for_function("() => !window.jupyterapp.shell.leftCollapsed")


def hide_file_browser(page: Page) -> None:
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    page.wait_for_function("() => window.jupyterapp.shell.leftCollapsed")


def settle(page: Page) -> None:
    """Wait until no figure has changed size for SETTLE_S (a resize makes plotly redraw a moment later)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    last = page.evaluate(_SIZES_JS)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        now = page.evaluate(_SIZES_JS)
        if now == last:
            return
        last = now


def text_problems(page: Page) -> list[str]:
    """Every figure wider than its output area and every hidden, clipped or stacked text, one line each."""
    return [str(line) for line in page.evaluate(_PROBLEMS_JS, [_HIT_STYLE, OVERLAP_SHARE])]


def slider_to_extreme(panel: Locator, label: str, key: str) -> tuple[str, str]:
    """Press `key` ("Home" or "End") on the slider described `label` in `panel`; return its value before
    and after (aria-valuenow). Raises ValueError when the panel has no such slider."""
    boxes = panel.locator(".widget-inline-hbox").filter(has=panel.page.locator(".noUi-handle"))
    for index in range(boxes.count()):
        box = boxes.nth(index)
        if box.locator(".widget-label").first.inner_text().strip() != label:
            continue
        handle = box.locator(".noUi-handle").first.element_handle()
        before = str(handle.get_attribute("aria-valuenow"))
        handle.focus()
        handle.press(key)
        try:
            panel.page.wait_for_function(
                "([node, before]) => node.getAttribute('aria-valuenow') !== before", arg=[handle, before], timeout=2000
            )
        except PlaywrightTimeoutError:
            pass  # already at that end
        return before, str(handle.get_attribute("aria-valuenow"))
    raise ValueError(f"expected a slider described {label!r} in the panel, found none")
