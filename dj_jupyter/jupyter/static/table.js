// TableWidget: one page of a table or query, with paging and sorting.
//
// Model trait `page` holds the page shown first (names, key, types, comments, badges, rows,
// offset, limit, total, order_by, descending); `page_sizes` the choices of rows per page.
// Every other page is asked of the kernel with the `_page` command, which answers with the
// same shape (or {error}). Only that page crosses the wire. The first page comes before the
// row count (total null, `following` says whether rows follow); the count arrives later in
// the `total` trait, and fills "rows 1–25 of …" and "page 1 of …". The page box jumps to
// any page (the kernel seeks from its position anchors).
// Array cells (page.summaries) show shape, dtype, size and a sparkline or thumbnail; a click
// calls `_cell_open` and mounts the array preview (trait `preview_esm`, loaded once) below
// the table, its frames and statistics served by `_cell_frame` / `_cell_stats`.

const INVOKE_TIMEOUT_MS = 30000; // anywidget's default of 3 s is too short for a database
const KEY_MARK = "\u26B7"; // ⚷, as in the static HTML

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function count(n) {
  return Number(n).toLocaleString("en-US");
}

export function pageInfo(page) {
  if (page.total === 0 || (page.total == null && !page.rows.length)) return "no rows";
  const first = page.offset + 1;
  const last = page.offset + page.rows.length;
  const of = page.total == null ? "\u2026" : count(page.total);
  return `rows ${count(first)}\u2013${count(last)} of ${of}`;
}

export function lastOffset(page) {
  return page.total > 0 ? Math.floor((page.total - 1) / page.limit) * page.limit : 0;
}

export function pageCount(page) {
  return page.total == null ? null : Math.max(1, Math.ceil(page.total / page.limit));
}

export function hasMore(page) {
  if (page.total == null) return Boolean(page.following);
  return page.offset + page.rows.length < page.total;
}

function tooltip(page, name) {
  const lines = [`${name} : ${page.types[name] ?? ""}`];
  if (page.comments[name]) lines.push(page.comments[name]);
  if (page.key.includes(name)) lines.push("(primary key)");
  if (name in page.badges) lines.push("(values not fetched for display)");
  else lines.push("click to sort");
  return lines.join("\n");
}

function ariaSort(page, name) {
  const sorted = page.order_by === name || (!page.order_by && page.key[0] === name);
  if (!sorted) return "none";
  return page.descending ? "descending" : "ascending";
}

function drawHeader(table, page, onSort) {
  const row = element("tr", "", element("thead", "", table));
  for (const name of page.names) {
    const th = element("th", page.key.includes(name) ? "dj-key" : "", row);
    th.dataset.column = name;
    th.title = tooltip(page, name);
    th.setAttribute("aria-sort", ariaSort(page, name));
    if (page.key.includes(name)) element("span", "dj-key-mark", th, KEY_MARK);
    element("span", "dj-name", th, name);
    const sort = th.getAttribute("aria-sort");
    if (sort !== "none") element("span", "dj-sort-indicator", th, sort === "ascending" ? "\u25B2" : "\u25BC");
    if (name in page.badges) {
      th.classList.add("dj-unsortable");
    } else {
      th.classList.add("dj-sortable");
      th.addEventListener("click", () => onSort(name));
    }
  }
}

const SVG = "http://www.w3.org/2000/svg";

function sparkline(parent, points) {
  const width = 60;
  const height = 16;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "dj-spark");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const line = document.createElementNS(SVG, "polyline");
  const n = points.length;
  const coords = [];
  points.forEach((v, i) => {
    if (v === null) return;
    coords.push(`${((i * (width - 1)) / Math.max(n - 1, 1)).toFixed(1)},${((1 - v) * (height - 2) + 1).toFixed(1)}`);
  });
  line.setAttribute("points", coords.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#1f77b4");
  svg.appendChild(line);
  parent.appendChild(svg);
}

export function drawArrayCell(td, summary) {
  const cell = element("span", "dj-array-cell", td);
  if (summary.spark) sparkline(cell, summary.spark);
  else if (summary.thumb) {
    const img = element("img", "dj-thumb", cell);
    img.src = summary.thumb;
    img.alt = "";
  }
  element("span", "dj-array-text", cell, summary.text);
  if (summary.size) element("span", "dj-array-size", cell, summary.size);
  td.title = `${summary.kind}: ${summary.text} ${summary.size}`.trim() +
    (summary.previewable ? "\nclick to preview" : "");
}

function drawBody(table, page, onOpen) {
  const body = element("tbody", "", table);
  const summaries = page.summaries || {};
  page.rows.forEach((values, r) => {
    const tr = element("tr", "", body);
    page.names.forEach((name, i) => {
      const td = element("td", page.key.includes(name) ? "dj-key-cell" : "", tr);
      const summary = name in summaries ? summaries[name][r] : undefined;
      if (summary) {
        drawArrayCell(td, summary);
        td.dataset.column = name;
        td.dataset.row = String(r);
        if (summary.previewable) {
          td.classList.add("dj-array-clickable");
          td.addEventListener("click", () => onOpen(r, name, td));
        }
      } else if (summary === null) {
        element("span", "dj-null", td, "NULL");
      } else if (name in page.badges) {
        element("span", "dj-badge", td, values[i]).title = `${name}: not fetched`;
      } else if (values[i] === "NULL") {
        element("span", "dj-null", td, "NULL");
      } else {
        td.textContent = values[i];
        td.title = values[i];
      }
    });
  });
}

function button(parent, className, label, title) {
  const b = element("button", `dj-page-button ${className}`, parent, label);
  b.type = "button";
  b.title = title;
  return b;
}

function render({ model, el, experimental }) {
  const root = element("div", "dj-table-widget", el);
  const bar = element("div", "dj-toolbar", root);
  const first = button(bar, "dj-page-first", "\u00AB", "first page");
  const prev = button(bar, "dj-page-prev", "\u2039", "previous page");
  const info = element("span", "dj-page-info", bar);
  const next = button(bar, "dj-page-next", "\u203A", "next page");
  const jumpLabel = element("label", "dj-page-jump-label", null, "page ");
  const jump = element("input", "dj-page-jump", jumpLabel);
  jump.type = "number";
  jump.min = "1";
  jump.title = "go to page (press Enter)";
  const pages = element("span", "dj-page-count", jumpLabel);
  const last = button(bar, "dj-page-last", "\u00BB", "last page");
  bar.appendChild(jumpLabel);
  const sizeLabel = element("label", "dj-page-size-label", bar, "rows per page ");
  const size = element("select", "dj-page-size", sizeLabel);
  const error = element("div", "dj-error", root);
  const scroller = element("div", "dj-scroll", root);
  const previewBox = element("div", "dj-cell-preview", root);
  previewBox.style.display = "none";
  let page = model.get("page");
  let latest = 0;
  let previewModule = null;
  let stopPreview = null;

  function closePreview() {
    if (stopPreview) stopPreview();
    stopPreview = null;
    previewBox.replaceChildren();
    previewBox.style.display = "none";
    for (const td of scroller.querySelectorAll(".dj-array-selected")) td.classList.remove("dj-array-selected");
  }

  async function openCell(row, column, td) {
    closePreview();
    td.classList.add("dj-array-selected");
    previewBox.style.display = "";
    const bar = element("div", "dj-cell-preview-bar", previewBox);
    const label = element("span", "dj-cell-preview-label", bar, `opening ${column}\u2026`);
    const close = button(bar, "dj-cell-preview-close", "\u2715", "close the preview");
    close.addEventListener("click", closePreview);
    const mount = element("div", "", previewBox);
    try {
      const invoke = (name, msg) => experimental.invoke(name, msg, {
        signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
      });
      if (!previewModule) {
        const url = URL.createObjectURL(new Blob([model.get("preview_esm")], { type: "text/javascript" }));
        previewModule = await import(/* webpackIgnore: true */ url);
      }
      const [opening] = await invoke("_cell_open", { row, column });
      if (opening && opening.error) throw new Error(opening.error);
      label.textContent = `${column} \u2014 row ${page.offset + row + 1}`;
      const request = previewModule.commandCaller(experimental, { frame: "_cell_frame", stats: "_cell_stats" });
      stopPreview = previewModule.mountPreview(mount, { ...opening, request });
    } catch (problem) {
      label.textContent = `could not open the preview: ${problem?.message ?? problem}`;
    }
  }

  function draw(shown) {
    page = shown;
    scroller.replaceChildren();
    const table = element("table", "dj-rows", scroller);
    drawHeader(table, page, sort);
    drawBody(table, page, openCell);
    drawPosition();
    const sizes = [...new Set([...(model.get("page_sizes") || []), page.limit])].sort((a, b) => a - b);
    size.replaceChildren(...sizes.map((n) => {
      const option = element("option", "", null, String(n));
      option.value = String(n);
      option.selected = n === page.limit;
      return option;
    }));
  }

  function drawPosition() {
    if (page.total == null && model.get("total") != null) page = { ...page, total: model.get("total") };
    info.textContent = pageInfo(page);
    first.disabled = prev.disabled = page.offset <= 0;
    next.disabled = !hasMore(page);
    last.disabled = page.total == null || !hasMore(page);
    const total = pageCount(page);
    jump.value = String(Math.floor(page.offset / page.limit) + 1);
    if (total != null) jump.max = String(total);
    pages.textContent = ` of ${total == null ? "\u2026" : count(total)}`;
  }

  function goTo(number) {
    const total = pageCount(page);
    let wanted = Math.max(1, Math.floor(Number(number)) || 1);
    if (total != null) wanted = Math.min(wanted, total);
    const offset = (wanted - 1) * page.limit;
    if (offset !== page.offset || String(wanted) !== jump.value) request({ offset });
  }

  async function request(changes) {
    const wanted = {
      offset: page.offset, limit: page.limit,
      order_by: page.order_by ?? null, descending: Boolean(page.descending), ...changes,
    };
    const ticket = ++latest;
    root.classList.add("dj-busy");
    error.textContent = "";
    try {
      const [answer] = await experimental.invoke("_page", wanted, {
        signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS),
      });
      if (ticket !== latest) return; // a newer request superseded this one
      if (answer && answer.error) error.textContent = answer.error;
      else draw(answer);
    } catch (problem) {
      if (ticket === latest) error.textContent = `could not fetch the page: ${problem?.message ?? problem}`;
    } finally {
      if (ticket === latest) root.classList.remove("dj-busy");
    }
  }

  function sort(name) {
    const current = page.order_by ?? page.key[0];
    const descending = current === name ? !page.descending : false;
    request({ order_by: name, descending, offset: 0 });
  }

  first.addEventListener("click", () => request({ offset: 0 }));
  prev.addEventListener("click", () => request({ offset: Math.max(0, page.offset - page.limit) }));
  next.addEventListener("click", () => request({ offset: page.offset + page.limit }));
  last.addEventListener("click", () => request({ offset: lastOffset(page) }));
  size.addEventListener("change", () => {
    const limit = Number(size.value);
    request({ limit, offset: Math.floor(page.offset / limit) * limit });
  });
  jump.addEventListener("keydown", (event) => {
    event.stopPropagation(); // typed digits and Enter are not notebook shortcuts
    if (event.key === "Enter") {
      event.preventDefault();
      goTo(jump.value);
    }
  });
  jump.addEventListener("change", () => goTo(jump.value));
  const onPage = () => draw(model.get("page"));
  const onTotal = () => {
    page = { ...page, total: model.get("total") ?? page.total };
    drawPosition();
  };
  model.on("change:page", onPage);
  model.on("change:total", onTotal);
  draw(page);
  return () => {
    model.off("change:page", onPage);
    model.off("change:total", onTotal);
  };
}

export default { render };
