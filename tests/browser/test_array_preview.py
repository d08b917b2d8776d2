"""Array previews in a real JupyterLab: a table with array columns, a click opening the preview
below it, a slider changing the frame, the value under the cursor, a line plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

TABLE = '''import numpy as np
schema = dj.Schema("arrays")


@schema
class Scan(dj.Manual):
    definition = """
    scan: int32
    ---
    movie: <npy@>          # (time, y, x) frames
    trace: <npy@>          # fluorescence
    notes = null: <blob>
    """


y, x = np.mgrid[0:90, 0:160]
movie = np.stack([np.sin(x / 12 + t) + np.cos(y / 9) + t for t in range(6)]).astype("float32")
trace = np.cumsum(np.random.default_rng(0).normal(size=20000))
Scan.insert([{"scan": 1, "movie": movie, "trace": trace, "notes": np.arange(10.0)},
             {"scan": 2, "movie": movie[:, :8, :8], "trace": np.sin(np.arange(40) / 4)}])'''

SHOW_TABLE = "%load_ext dj_jupyter\nScan()"
SHOW_LINE = "dj.preview((Scan & {'scan': 1}).fetch1('trace'))"


def value_at(t: int, row: int, col: int) -> str:
    """The movie's value, as the preview prints it (five significant digits)."""
    return f"{float(np.float32(math.sin(col / 12 + t) + math.cos(row / 9) + t)):.5g}"


def hover_middle(page, canvas) -> None:
    """Put the mouse on the middle pixel of the frame (inside the canvas border)."""
    box = canvas.bounding_box()
    assert box and box["width"] > 300
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_array_cells_open_a_preview_whose_slider_changes_the_frame(lab: Lab) -> None:
    lab.open(lab.write_notebook("arrays", [TABLE, SHOW_TABLE, SHOW_LINE]))
    lab.run_all()
    page = lab.page
    table = page.locator(".dj-table-widget")
    expect(table).to_have_count(1)
    cells = table.locator("td.dj-array-clickable")
    expect(cells).to_have_count(5)  # two movies, two traces, one blob
    movie = table.locator("td[data-column='movie'][data-row='0']")
    expect(movie).to_contain_text("6×90×160 float32")
    expect(table.locator("td[data-column='trace'][data-row='1'] svg.dj-spark")).to_have_count(1)
    expect(table.locator("td[data-column='movie'][data-row='1'] img.dj-thumb")).to_have_count(1)
    lab.screenshot("table", table)

    movie.click()
    preview = table.locator(".dj-cell-preview .dj-array-preview")
    expect(preview).to_have_attribute("data-frame-kind", "image")
    expect(preview).to_have_attribute("data-at", "0,0,0")
    expect(preview.locator(".dj-ap-title")).to_contain_text("movie, row 1")
    expect(preview.locator(".dj-ap-stats")).to_have_attribute("data-done", "true")
    expect(preview.locator(".dj-ap-stats-text")).to_contain_text("n=86,400")
    canvas = preview.locator("canvas.dj-ap-canvas")
    hover_middle(page, canvas)
    expect(preview.locator(".dj-ap-cursor")).to_have_text(
        f"axis 1=45, axis 2=80: {value_at(0, 45, 80)}")
    lab.screenshot("preview-frame-0", preview)

    slider = preview.locator("input.dj-ap-slider[data-axis='0']")
    slider.fill("4")
    expect(preview).to_have_attribute("data-at", "4,0,0")
    expect(preview.locator(".dj-ap-slider-value")).to_have_text("4")
    hover_middle(page, canvas)
    expect(preview.locator(".dj-ap-cursor")).to_have_text(
        f"axis 1=45, axis 2=80: {value_at(4, 45, 80)}")
    lab.screenshot("preview-frame-4", preview)

    preview.locator("select.dj-ap-axis-0").select_option("0")  # time down the image
    expect(preview.locator("input.dj-ap-slider[data-axis='1']")).to_have_count(1)
    lab.screenshot("preview-time-by-x", preview)

    table.locator(".dj-cell-preview-close").click()
    expect(table.locator(".dj-cell-preview .dj-array-preview")).to_have_count(0)

    line = page.locator(".dj-array-preview[data-frame-kind='line']")
    expect(line).to_have_count(1)
    expect(line.locator(".dj-ap-xlabel")).to_contain_text("20,000 points")
    lab.screenshot("line", line)
    assert lab.page_errors == []
