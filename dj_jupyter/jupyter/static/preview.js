// ArrayPreview: a line plot (1-D), an image (2-D) or frames of an N-D array.
//
// Model traits: `meta` (shape, dtype, dims, coords, name, kind, nbytes), `axes` (the two
// displayed axes), `at` (a position per axis), `lut` (256 RGB entries, viridis), `title`.
// Frames come from the `_frame` command as float32 buffers (only that frame is read in the
// kernel); statistics from `_stats_step`, called until it says done. `mountPreview` draws the
// same preview anywhere (the table widget mounts it below its rows, with its own commands).

const INVOKE_TIMEOUT_MS = 60000; // anywidget's 3 s default is too short for a remote store
const DISPLAY_PX = 420; // the longer side of the drawn image

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function floats(buffer) {
  if (!buffer) return new Float32Array(0);
  if (buffer instanceof ArrayBuffer) return new Float32Array(buffer);
  const copy = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
  return new Float32Array(copy);
}

export function formatValue(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

function dimLabel(meta, axis) {
  return (meta.dims && meta.dims[axis]) || `axis ${axis}`;
}

function coordLabel(meta, axis, i) {
  const dim = meta.dims[axis];
  const coords = meta.coords && meta.coords[dim];
  return coords && i < coords.length ? `${i} (${coords[i]})` : String(i);
}

export function commandCaller(experimental, names) {
  return async (kind, msg) => {
    const [answer, buffers] = await experimental.invoke(names[kind], msg, {
      signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
    });
    if (answer && answer.error) throw new Error(answer.error);
    return [answer, buffers];
  };
}

function drawImage(canvas, frame, values, lut, low, high) {
  const { width, height } = frame;
  canvas.width = width;
  canvas.height = height;
  // the aspect is kept, except that a very elongated frame (e.g. 6 time points × 160
  // columns) is stretched to at least a quarter of the longer side, so it can be read
  const scale = DISPLAY_PX / Math.max(width, height);
  const least = DISPLAY_PX / 4;
  canvas.style.width = `${Math.round(Math.max(width * scale, least))}px`;
  canvas.style.height = `${Math.round(Math.max(height * scale, least))}px`;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const span = high - low || 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const p = i * 4;
    if (!Number.isFinite(v)) {
      image.data[p] = image.data[p + 1] = image.data[p + 2] = 160;
    } else {
      const code = Math.max(0, Math.min(255, Math.round(((v - low) / span) * 255))) * 3;
      image.data[p] = lut[code];
      image.data[p + 1] = lut[code + 1];
      image.data[p + 2] = lut[code + 2];
    }
    image.data[p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

function drawColorbar(bar, lut) {
  bar.width = 256;
  bar.height = 1;
  const context = bar.getContext("2d");
  const image = context.createImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    image.data.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
  }
  context.putImageData(image, 0, 0);
}

function drawLine(canvas, frame, values) {
  const n = frame.points;
  const width = 640;
  const height = 200;
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, width, height);
  const mins = values.subarray(0, n);
  const maxs = values.subarray(n);
  const low = frame.min ?? 0;
  const high = frame.max ?? 1;
  const span = high - low || 1;
  const y = (v) => 4 + (1 - (v - low) / span) * (height - 8);
  context.strokeStyle = "#1f77b4";
  context.lineWidth = 1;
  context.beginPath();
  for (let i = 0; i < n; i++) {
    const x = n > 1 ? (i / (n - 1)) * (width - 1) : width / 2;
    if (!Number.isFinite(mins[i]) || !Number.isFinite(maxs[i])) continue;
    if (i === 0) context.moveTo(x, y(maxs[i]));
    context.lineTo(x, y(maxs[i]));
    context.lineTo(x, y(mins[i]));
  }
  context.stroke();
}

// options: {meta, lut, title, axes, at, request(kind, msg) -> [answer, buffers]}, kind being
// "frame" or "stats". Returns a function that stops the statistics.
export function mountPreview(el, options) {
  const { meta, lut, request } = options;
  const root = element("div", "dj-array-preview", el);
  element("div", "dj-ap-title", root, options.title);
  const controls = element("div", "dj-ap-controls", root);
  const error = element("div", "dj-error", root);
  const stage = element("div", "dj-ap-stage", root);
  const yLabel = element("div", "dj-ap-ylabel", stage);
  const plot = element("div", "dj-ap-plot", stage);
  const canvas = element("canvas", "dj-ap-canvas", plot);
  const xLabel = element("div", "dj-ap-xlabel", plot);
  const side = element("div", "dj-ap-side", stage);
  const colour = element("div", "dj-ap-colour", side);
  const bar = element("canvas", "dj-ap-colorbar", colour);
  const range = element("div", "dj-ap-range", colour);
  const lowInput = element("input", "dj-ap-vmin", range);
  const highInput = element("input", "dj-ap-vmax", range);
  const robust = element("button", "dj-ap-robust", range, "robust");
  const cursor = element("div", "dj-ap-cursor", side, "\u00A0");
  const stats = element("div", "dj-ap-stats", side);
  const progress = element("progress", "dj-ap-progress", stats);
  const statsText = element("div", "dj-ap-stats-text", stats, "statistics\u2026");
  lowInput.title = "colour range: low";
  highInput.title = "colour range: high";
  robust.title = "1st\u201399th percentile of the frame";
  robust.type = "button";
  drawColorbar(bar, lut);

  let axes = options.axes.slice();
  let at = options.at.slice();
  let frame = null;
  let values = null;
  let low = 0;
  let high = 1;
  let latest = 0;
  const sliders = [];

  function redraw() {
    if (!frame) return;
    if (frame.kind === "image") drawImage(canvas, frame, values, lut, low, high);
    else if (frame.kind === "line") drawLine(canvas, frame, values);
  }

  async function load() {
    const ticket = ++latest;
    root.classList.add("dj-busy");
    try {
      const [answer, buffers] = await request("frame", { axes, at });
      if (ticket !== latest) return;
      error.textContent = "";
      frame = answer;
      values = floats(buffers && buffers[0]);
      root.dataset.frameKind = frame.kind;
      root.dataset.at = at.join(",");
      colour.style.display = frame.kind === "image" ? "" : "none";
      if (frame.kind === "image") {
        low = frame.vmin;
        high = frame.vmax;
        lowInput.value = formatValue(low);
        highInput.value = formatValue(high);
        yLabel.textContent = `${dimLabel(meta, axes[0])} \u2193`;
        xLabel.textContent = `${dimLabel(meta, axes[1])} \u2192`;
      } else if (frame.kind === "line") {
        yLabel.textContent = meta.name || "value";
        xLabel.textContent = `${dimLabel(meta, 0)} \u2192 (${frame.length.toLocaleString("en-US")} points, min/max per pixel)`;
      } else {
        canvas.style.display = "none";
        xLabel.textContent = frame.text ?? "empty array";
      }
      redraw();
      root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
    } catch (problem) {
      if (ticket === latest) error.textContent = `could not read the frame: ${problem?.message ?? problem}`;
    } finally {
      if (ticket === latest) root.classList.remove("dj-busy");
    }
  }

  const axisSelects = [];
  function axisSelect(label, which) {
    const wrap = element("label", "dj-ap-axis", controls, label);
    const select = element("select", `dj-ap-axis-${which}`, wrap);
    meta.shape.forEach((n, axis) => {
      const option = element("option", "", select, `${dimLabel(meta, axis)} (${n})`);
      option.value = String(axis);
    });
    select.value = String(axes[which]);
    select.addEventListener("change", () => {
      const chosen = Number(select.value);
      const next = axes.slice();
      if (chosen === axes[1 - which]) next[1 - which] = axes[which]; // picked the other: swap
      next[which] = chosen;
      axes = next;
      axisSelects.forEach((s, i) => { s.value = String(axes[i]); });
      buildSliders();
      load();
    });
    axisSelects.push(select);
    return select;
  }

  const sliderBox = element("div", "dj-ap-sliders", root);
  root.insertBefore(sliderBox, stage);

  function buildSliders() {
    sliderBox.replaceChildren();
    sliders.length = 0;
    meta.shape.forEach((n, axis) => {
      if (axes.includes(axis) || meta.shape.length < 3) return;
      const row = element("label", "dj-ap-slider-row", sliderBox);
      element("span", "dj-ap-slider-name", row, dimLabel(meta, axis));
      const slider = element("input", "dj-ap-slider", row);
      slider.type = "range";
      slider.min = "0";
      slider.max = String(n - 1);
      slider.value = String(at[axis]);
      slider.dataset.axis = String(axis);
      const shown = element("span", "dj-ap-slider-value", row, coordLabel(meta, axis, at[axis]));
      slider.addEventListener("input", () => {
        at[axis] = Number(slider.value);
        shown.textContent = coordLabel(meta, axis, at[axis]);
        load();
      });
      sliders.push(slider);
    });
  }

  if (meta.shape.length >= 3) {
    const ySelect = axisSelect("rows ", 0);
    const xSelect = axisSelect(" columns ", 1);
    ySelect.title = "the axis shown down the image";
    xSelect.title = "the axis shown across the image";
  }
  buildSliders();

  function applyRange() {
    const a = Number(lowInput.value);
    const b = Number(highInput.value);
    if (Number.isFinite(a) && Number.isFinite(b) && b > a) {
      low = a;
      high = b;
      redraw();
    }
  }
  lowInput.addEventListener("change", applyRange);
  highInput.addEventListener("change", applyRange);
  robust.addEventListener("click", () => {
    if (!frame || frame.kind !== "image") return;
    low = frame.vmin;
    high = frame.vmax;
    lowInput.value = formatValue(low);
    highInput.value = formatValue(high);
    redraw();
  });

  canvas.addEventListener("mousemove", (event) => {
    if (!frame || !values) return;
    // offsetX/Y and clientWidth/Height: inside the border, as the pixels are drawn
    const fx = event.offsetX / canvas.clientWidth;
    const fy = event.offsetY / canvas.clientHeight;
    if (frame.kind === "image") {
      const col = Math.max(0, Math.min(frame.width - 1, Math.floor(fx * frame.width)));
      const row = Math.max(0, Math.min(frame.height - 1, Math.floor(fy * frame.height)));
      const value = values[row * frame.width + col];
      const yi = row * frame.steps[0];
      const xi = col * frame.steps[1];
      cursor.textContent = `${dimLabel(meta, axes[0])}=${coordLabel(meta, axes[0], yi)}, ` +
        `${dimLabel(meta, axes[1])}=${coordLabel(meta, axes[1], xi)}: ${formatValue(value)}`;
    } else if (frame.kind === "line") {
      const n = frame.points;
      const i = Math.min(n - 1, Math.max(0, Math.round(fx * (n - 1))));
      const first = Math.floor((i * frame.length) / n);
      const lo = values[i];
      const hi = values[n + i];
      cursor.textContent = lo === hi ? `${dimLabel(meta, 0)}=${coordLabel(meta, 0, first)}: ${formatValue(lo)}`
        : `${dimLabel(meta, 0)}\u2248${first}: ${formatValue(lo)} \u2026 ${formatValue(hi)}`;
    }
  });
  canvas.addEventListener("mouseleave", () => { cursor.textContent = "\u00A0"; });

  let closed = false;
  async function runStats() {
    try {
      for (;;) {
        const [report] = await request("stats", {});
        if (closed) return;
        progress.value = report.progress;
        const parts = [`n=${report.count.toLocaleString("en-US")}`];
        if (report.nans) parts.push(`NaN=${report.nans.toLocaleString("en-US")}`);
        for (const name of ["min", "max", "mean", "std"]) {
          if (report[name] !== null) parts.push(`${name}=${formatValue(report[name])}`);
        }
        statsText.textContent = (report.done ? "" : `${Math.round(report.progress * 100)}% \u2026 `) + parts.join("  ");
        if (report.done) {
          progress.style.display = "none";
          stats.dataset.done = "true";
          return;
        }
      }
    } catch (problem) {
      statsText.textContent = `statistics unavailable: ${problem?.message ?? problem}`;
    }
  }

  load().then(runStats);
  return () => { closed = true; };
}

function render({ model, el, experimental }) {
  return mountPreview(el, {
    meta: model.get("meta"), lut: model.get("lut"), title: model.get("title"),
    axes: model.get("axes"), at: model.get("at"),
    request: commandCaller(experimental, { frame: "_frame", stats: "_stats_step" }),
  });
}

export default { render };
