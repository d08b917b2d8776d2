// dj.Diagram widget: lays the FK graph out with dagre and draws it as SVG.
//
// The Python side prepends `const DAGRE_SOURCE = "<vendored dagre ESM>";` to this file
// (see dj_jupyter/jupyter/diagram.py); dagre is imported from a Blob URL so its
// minified top-level names never meet ours. Model traits: nodes, edges, direction, theme,
// page_size. The drawing sits in a fixed-height viewport (.dj-viewport) with zoom (wheel,
// +/-), pan (drag) and fit; the toolbar holds a table search and the legend of the tiers.
// Clicking a node highlights its upstream and downstream and shows a closable, paged preview
// of its rows (.dj-diagram-preview, fetched with the `_rows` command); clicking a schema's
// label collapses the schema into one node (click that node to expand it). Hovering a node
// shows its definition (.dj-node-tooltip), kept inside the viewport so nothing clips it.
// Job status (trait `status`): each Computed/Imported node carries a progress ring (keys done
// of its key source, reserved ones in a second colour) and, when keys failed, a red badge with
// their count; clicking the badge lists the table's errors (the `_errors` command). While the
// diagram is on screen and work is in flight, the view asks the kernel for fresh status
// (`_status`) every `poll_ms`; off screen, hidden or idle it asks nothing.

const SVG_NS = "http://www.w3.org/2000/svg";
const CHAR_WIDTH = { normal: 7.2, part: 6.2 };
const NODE_HEIGHT = { normal: 30, part: 22 };
const TIERS = ["Manual", "Lookup", "Computed", "Imported", "Part", "Schema"];
const LEGEND = ["Manual", "Lookup", "Imported", "Computed", "Part"];
const MAX_VIEWPORT_HEIGHT = 560;
const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const INVOKE_TIMEOUT_MS = 30000;
const AUTO_TIERS = new Set(["Computed", "Imported"]);
const RING_RADIUS = 7;

let dagrePromise = null;

function loadDagre() {
  if (dagrePromise === null) {
    if (typeof DAGRE_SOURCE === "undefined") {
      throw new Error("diagram.js needs DAGRE_SOURCE: load it through DiagramWidget._esm");
    }
    const url = URL.createObjectURL(new Blob([DAGRE_SOURCE], { type: "text/javascript" }));
    dagrePromise = import(url).then((module) => {
      URL.revokeObjectURL(url);
      return module.default ?? module;
    });
  }
  return dagrePromise;
}

function svg(tag, attrs = {}, parent = null) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

function tooltip(element, text) {
  svg("title", {}, element).textContent = text;
}

function groupKey(node) {
  return `group:${node.master ?? node.name}`;
}

/** A dagre compound graph: schema clusters > master groups (only with parts) > tables. */
export function layout(dagre, nodes, edges, direction) {
  const graph = new dagre.graphlib.Graph({ compound: true, multigraph: true });
  graph.setGraph({ rankdir: direction, nodesep: 18, ranksep: 42, marginx: 12, marginy: 12 });
  graph.setDefaultEdgeLabel(() => ({}));
  const partCount = {};
  for (const node of nodes) if (node.master) partCount[node.master] = (partCount[node.master] ?? 0) + 1;
  for (const node of nodes) {
    const kind = node.tier === "Part" ? "part" : "normal";
    const width = Math.max(48, node.class_name.length * CHAR_WIDTH[kind] + 26);
    graph.setNode(node.name, { width, height: NODE_HEIGHT[kind], node });
    if (node.collapsed) continue; // a folded schema stands alone
    const schemaKey = `schema:${node.schema}`;
    if (!graph.hasNode(schemaKey)) graph.setNode(schemaKey, { label: node.schema, kind: "schema" });
    const grouped = node.master ? partCount[node.master] : partCount[node.name];
    if (grouped) {
      const key = groupKey(node);
      if (!graph.hasNode(key)) {
        graph.setNode(key, { kind: "group" });
        graph.setParent(key, schemaKey);
      }
      graph.setParent(node.name, key);
    } else {
      graph.setParent(node.name, schemaKey);
    }
  }
  edges.forEach((edge, i) => graph.setEdge(edge.parent, edge.child, { edge }, `e${i}`));
  dagre.layout(graph);
  return graph;
}

/** Above this many tables dagre's layout takes seconds; `bandLayout` takes milliseconds. */
export const DAGRE_LIMIT = 120;
const BAND = { nodeGap: 14, rankGap: 48, schemaGap: 28, pad: 12, label: 18, sweeps: 4 };

/** A fast layered layout for large diagrams, with the interface of a laid-out dagre graph
 * (node(), nodes(), edge(), edges(), graph()): ranks by longest path from the roots, each
 * schema a band across all ranks (so its cluster box is a rectangle of its own), the order
 * inside a band by a few barycenter sweeps. Edges are drawn as curves between the boxes. */
export function bandLayout(nodes, edges, direction) {
  const horizontal = direction === "LR";
  const parents = new Map(nodes.map((n) => [n.name, []]));
  const children = new Map(nodes.map((n) => [n.name, []]));
  for (const edge of edges) {
    if (edge.parent === edge.child) continue;
    parents.get(edge.child).push(edge.parent);
    children.get(edge.parent).push(edge.child);
  }
  const rank = new Map(nodes.map((n) => [n.name, 0]));
  const waiting = new Map(nodes.map((n) => [n.name, parents.get(n.name).length]));
  const ready = nodes.filter((n) => waiting.get(n.name) === 0).map((n) => n.name);
  while (ready.length) {
    const name = ready.pop();
    for (const child of children.get(name)) {
      rank.set(child, Math.max(rank.get(child), rank.get(name) + 1));
      waiting.set(child, waiting.get(child) - 1);
      if (waiting.get(child) === 0) ready.push(child);
    }
  }
  const sizeOf = (node) => {
    const kind = node.tier === "Part" ? "part" : "normal";
    return { width: Math.max(48, node.class_name.length * CHAR_WIDTH[kind] + 26),
             height: NODE_HEIGHT[kind] };
  };
  const boxes = new Map(nodes.map((n) => [n.name, { ...sizeOf(n), node: n }]));
  const ranks = Math.max(...rank.values()) + 1;
  const schemas = [...new Set(nodes.map((n) => n.schema))];
  // layers[schema][rank] = [names]
  const layers = new Map(schemas.map((s) => [s, Array.from({ length: ranks }, () => [])]));
  for (const node of nodes) layers.get(node.schema)[rank.get(node.name)].push(node.name);
  const position = new Map();
  const number = () => {
    for (const s of schemas) for (const layer of layers.get(s)) layer.forEach((n, i) => position.set(n, i));
  };
  number();
  for (let sweep = 0; sweep < BAND.sweeps; sweep++) {
    const neighbours = sweep % 2 === 0 ? parents : children;
    for (const s of schemas) {
      for (const layer of layers.get(s)) {
        const centre = (name) => {
          const seen = neighbours.get(name).filter((n) => position.has(n)).map((n) => position.get(n));
          return seen.length ? seen.reduce((a, b) => a + b, 0) / seen.length : position.get(name);
        };
        const keyed = layer.map((name) => [centre(name), name]).sort((a, b) => a[0] - b[0]);
        keyed.forEach(([, name], i) => { layer[i] = name; });
      }
    }
    number();
  }
  // along = the rank axis; across = the axis a layer stacks on
  const across = (box) => (horizontal ? box.height : box.width);
  const along = (box) => (horizontal ? box.width : box.height);
  const depth = Array.from({ length: ranks }, () => 0);
  for (const box of boxes.values()) depth[rank.get(box.node.name)] = Math.max(depth[rank.get(box.node.name)], along(box));
  const start = [];
  let offset = BAND.pad + (horizontal ? 0 : BAND.label);
  for (let r = 0; r < ranks; r++) {
    start.push(offset);
    offset += depth[r] + BAND.rankGap;
  }
  const length = offset - BAND.rankGap + BAND.pad;
  const clusters = new Map();
  let bandStart = BAND.pad;
  for (const s of schemas) {
    const top = bandStart + (horizontal ? BAND.label : 0);
    let extent = 0;
    layers.get(s).forEach((layer, r) => {
      let cursor = top;
      for (const name of layer) {
        const box = boxes.get(name);
        const a = start[r] + depth[r] / 2, c = cursor + across(box) / 2;
        [box.x, box.y] = horizontal ? [a, c] : [c, a];
        cursor += across(box) + BAND.nodeGap;
      }
      extent = Math.max(extent, cursor - BAND.nodeGap - bandStart);
    });
    const size = extent + BAND.pad;
    const lo = BAND.pad / 2, hi = length - BAND.pad / 2;
    clusters.set(`schema:${s}`, horizontal
      ? { kind: "schema", label: s, x: (lo + hi) / 2, y: bandStart + size / 2 - BAND.pad / 2, width: hi - lo, height: size }
      : { kind: "schema", label: s, x: bandStart + size / 2 - BAND.pad / 2, y: (lo + hi) / 2, width: size, height: hi - lo });
    bandStart += size + BAND.schemaGap;
  }
  const breadth = bandStart - BAND.schemaGap + BAND.pad;
  const routes = edges.filter((e) => e.parent !== e.child).map((edge) => {
    const p = boxes.get(edge.parent), c = boxes.get(edge.child);
    const points = horizontal
      ? [{ x: p.x + p.width / 2, y: p.y }, { x: (p.x + p.width / 2 + c.x - c.width / 2) / 2, y: p.y },
         { x: (p.x + p.width / 2 + c.x - c.width / 2) / 2, y: c.y }, { x: c.x - c.width / 2, y: c.y }]
      : [{ x: p.x, y: p.y + p.height / 2 }, { x: p.x, y: (p.y + p.height / 2 + c.y - c.height / 2) / 2 },
         { x: c.x, y: (p.y + p.height / 2 + c.y - c.height / 2) / 2 }, { x: c.x, y: c.y - c.height / 2 }];
    return { edge, points };
  });
  const all = new Map([...boxes, ...clusters]);
  const size = horizontal ? { width: length, height: breadth } : { width: breadth, height: length };
  return {
    node: (name) => all.get(name),
    nodes: () => [...all.keys()],
    edge: (i) => routes[i],
    edges: () => routes.map((_, i) => i),
    graph: () => size,
  };
}

function drawClusters(root, graph) {
  const layer = svg("g", { class: "dj-clusters" }, root);
  for (const kind of ["schema", "group"]) {
    for (const key of graph.nodes()) {
      const box = graph.node(key);
      if (box.kind !== kind) continue;
      const attrs = { x: box.x - box.width / 2, y: box.y - box.height / 2,
                      width: box.width, height: box.height, rx: 8 };
      if (kind === "schema") {
        svg("rect", { ...attrs, class: "dj-cluster" }, layer);
        const label = svg("text", { x: attrs.x + 8, y: attrs.y + 13, class: "dj-cluster-label",
                                    "data-schema": box.label }, layer);
        label.textContent = `▾ ${box.label}`;
        tooltip(label, `collapse schema ${box.label} into one node`);
      } else {
        svg("rect", { ...attrs, x: attrs.x - 4, y: attrs.y - 4, width: attrs.width + 8,
                      height: attrs.height + 8, class: "dj-group" }, layer);
      }
    }
  }
}

function edgePath(points) {
  const [first, ...rest] = points;
  if (rest.length === 0) return `M${first.x},${first.y}`;
  let d = `M${first.x},${first.y}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const mid = { x: (rest[i].x + rest[i + 1].x) / 2, y: (rest[i].y + rest[i + 1].y) / 2 };
    d += ` Q${rest[i].x},${rest[i].y} ${mid.x},${mid.y}`;
  }
  const last = rest[rest.length - 1];
  return `${d} L${last.x},${last.y}`;
}

function drawEdges(root, graph) {
  const layer = svg("g", { class: "dj-edges" }, root);
  for (const key of graph.edges()) {
    const { edge, points } = graph.edge(key);
    const classes = ["dj-edge", edge.primary ? "dj-primary" : "dj-secondary",
                     edge.one_to_one ? "dj-one-to-one" : "dj-one-to-many"];
    if (edge.renamed) classes.push("dj-renamed");
    const path = svg("path", { d: edgePath(points), class: classes.join(" "),
                               "data-parent": edge.parent, "data-child": edge.child }, layer);
    const renames = edge.attr_map.filter(([c, p]) => c !== p).map(([c, p]) => `${c} ← ${p}`);
    tooltip(path, `${edge.child} ← ${edge.parent}` + (renames.length ? ` (${renames.join(", ")})` : ""));
  }
}

function drawNodes(root, graph, nodes) {
  const layer = svg("g", { class: "dj-nodes" }, root);
  for (const node of nodes) {
    const box = graph.node(node.name);
    const tier = TIERS.includes(node.tier) ? node.tier.toLowerCase() : "unknown";
    const group = svg("g", { class: `dj-node dj-tier-${tier}`, "data-name": node.name,
                             transform: `translate(${box.x},${box.y})` }, layer);
    const w = box.width, h = box.height;
    if (node.tier === "Computed" || node.tier === "Imported") {
      svg("ellipse", { rx: w / 2, ry: h / 2, class: "dj-shape" }, group);
    } else {
      svg("rect", { x: -w / 2, y: -h / 2, width: w, height: h, rx: node.tier === "Part" ? 4 : 7,
                    class: "dj-shape" }, group);
    }
    const label = svg("text", { class: "dj-label", "text-anchor": "middle", dy: "0.35em" }, group);
    if (node.new_dimension) label.classList.add("dj-new-dimension");
    label.textContent = node.class_name;
    group.setAttribute("aria-label", `${node.class_name} (${node.tier})`);
  }
}

/** pending, running, failed, done or empty: the state a node's status shows. */
export function statusState(status) {
  if (!status) return "none";
  if (status.error > 0) return "failed";
  if (status.reserved > 0) return "running";
  if (status.total === 0) return "empty";
  return status.done >= status.total ? "done" : "pending";
}

/** One line of numbers: "5 of 7 done · 1 running · 2 failed". */
export function statusText(status, populating = false) {
  if (!status) return "";
  const parts = [`${status.done} of ${status.total} done`];
  if (status.reserved) parts.push(`${status.reserved} running`);
  if (populating && !status.reserved) parts.push("populating here");
  if (status.error) parts.push(`${status.error} failed`);
  if (status.ignore) parts.push(`${status.ignore} ignored`);
  return parts.join(" · ");
}

function ringArc(group, cx, cy, className, from, length) {
  if (length <= 0) return;
  svg("circle", { cx, cy, r: RING_RADIUS, pathLength: 100, class: className,
                  "stroke-dasharray": `${length} ${100 - length}`,
                  "stroke-dashoffset": 25 - from }, group);
}

/** The ring (done, then running, of total) and the red error badge of one node. */
function drawStatus(group, box, status, populating) {
  group.querySelector(".dj-status")?.remove();
  const state = statusState(status);
  for (const name of [...group.classList]) if (name.startsWith("dj-status-")) group.classList.remove(name);
  if (state === "none") return;
  group.classList.add(`dj-status-${state}`);
  if (populating) group.classList.add("dj-status-populating");
  group.dataset.done = status.done;
  group.dataset.total = status.total;
  group.dataset.failed = status.error;
  group.dataset.running = status.reserved;
  const layer = svg("g", { class: "dj-status" }, group);
  const cx = -box.width / 2 + 2, cy = -box.height / 2 + 2;
  svg("circle", { cx, cy, r: RING_RADIUS + 2.5, class: "dj-ring-back" }, layer);
  svg("circle", { cx, cy, r: RING_RADIUS, class: "dj-ring-track" }, layer);
  const total = Math.max(status.total, 1);
  const done = Math.min(100, (100 * status.done) / total);
  const running = Math.min(100 - done, (100 * status.reserved) / total);
  ringArc(layer, cx, cy, "dj-ring-done", 0, state === "done" ? 100 : done);
  ringArc(layer, cx, cy, "dj-ring-running", done, running);
  if (status.error > 0) {
    const badge = svg("g", { class: "dj-error-badge", role: "button", tabindex: 0,
                             transform: `translate(${box.width / 2 - 4},${-box.height / 2 + 1})` }, layer);
    const label = status.error > 999 ? "999+" : String(status.error);
    const w = Math.max(16, label.length * 6.5 + 8);
    svg("rect", { x: -w / 2, y: -8, width: w, height: 16, rx: 8 }, badge);
    const text = svg("text", { "text-anchor": "middle", dy: "0.35em" }, badge);
    text.textContent = label;
    tooltip(badge, `${status.error} failed — click to see the errors`);
    badge.setAttribute("aria-label", `${status.error} failed keys: show the errors`);
  }
}

/** Puts the `status` trait on the drawn nodes (no relayout). */
function applyStatus(el, model) {
  const current = model.get("status") ?? {};
  const tables = current.tables ?? {};
  const running = new Set(current.running ?? []);
  const view = el.djView;
  for (const group of el.querySelectorAll(".dj-node")) {
    const box = view?.boxes?.get(group.dataset.name);
    if (!box) continue;
    drawStatus(group, box, tables[group.dataset.name], running.has(group.dataset.name));
  }
  el.dataset.djStatus = JSON.stringify(Object.fromEntries(
    Object.entries(tables).map(([name, s]) => [name, statusState(s)])));
}

function html(tag, className = "", text = null) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== null) element.textContent = text;
  return element;
}

/** The styled tooltip: the hovered node's name, tier and definition, kept inside `box`
 * (the viewport, whose own overflow is hidden) so that no output area can clip it. */
function attachTooltip(box, nodesLayer, byName, statusLine = () => "") {
  const tip = html("div", "dj-node-tooltip");
  tip.hidden = true;
  box.appendChild(tip);
  const place = (event) => {
    const area = box.getBoundingClientRect();
    const x = event.clientX - area.left, y = event.clientY - area.top;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    const left = x + 14 + w <= area.width ? x + 14 : Math.max(0, x - 14 - w);
    const top = y + 14 + h <= area.height ? y + 14 : Math.max(0, y - 14 - h);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  };
  nodesLayer.addEventListener("mouseover", (event) => {
    const group = event.target.closest(".dj-node");
    const node = group && byName.get(group.dataset.name);
    if (!node) return;
    const text = node.collapsed ? `${node.count} tables — click to expand` : node.definition;
    const parts = [html("div", "dj-tooltip-title", `${node.class_name} (${node.tier})`)];
    const line = statusLine(node.name);
    if (line) parts.push(html("div", "dj-tooltip-status", line));
    parts.push(html("pre", "dj-tooltip-definition", text ?? ""));
    tip.replaceChildren(...parts);
    tip.hidden = false;
    place(event);
  });
  nodesLayer.addEventListener("mousemove", (event) => { if (!tip.hidden) place(event); });
  nodesLayer.addEventListener("mouseout", (event) => {
    const group = event.target.closest(".dj-node");
    if (group && !group.contains(event.relatedTarget)) tip.hidden = true;
  });
  return tip;
}

/** Nodes and edges with each collapsed schema folded into one "Schema" node. */
export function collapse(nodes, edges, collapsed, expanded = new Set()) {
  const folds = (node) => collapsed.has(node.schema) || (node.folded && !expanded.has(node.schema));
  if (!nodes.some(folds)) return { nodes, edges };
  const owner = new Map();
  const shown = [];
  const folded = new Map();
  for (const node of nodes) {
    if (!folds(node)) {
      owner.set(node.name, node.name);
      shown.push(node);
      continue;
    }
    const key = `collapsed:${node.schema}`;
    owner.set(node.name, key);
    if (!folded.has(key)) {
      const stand = { name: key, schema: node.schema, tier: "Schema", master: null,
                      class_name: node.schema, collapsed: true, count: 0, definition: "" };
      folded.set(key, stand);
      shown.push(stand);
    }
    folded.get(key).count += 1;
  }
  for (const stand of folded.values()) stand.class_name = `${stand.schema} (${stand.count})`;
  const seen = new Set();
  const merged = [];
  for (const edge of edges) {
    const parent = owner.get(edge.parent), child = owner.get(edge.child);
    if (parent === child) continue;
    const key = `${parent}\u0000${child}`;
    if ((parent.startsWith("collapsed:") || child.startsWith("collapsed:")) && seen.has(key)) continue;
    seen.add(key);
    merged.push({ ...edge, parent, child });
  }
  return { nodes: shown, edges: merged };
}

/** Every node upstream and downstream of `name` along `edges`. */
export function lineage(name, edges) {
  const walk = (from, to) => {
    const found = new Set([name]);
    const todo = [name];
    while (todo.length) {
      const current = todo.pop();
      for (const edge of edges) {
        if (edge[from] === current && !found.has(edge[to])) {
          found.add(edge[to]);
          todo.push(edge[to]);
        }
      }
    }
    return found;
  };
  return { up: walk("child", "parent"), down: walk("parent", "child") };
}

/** Zoom and pan of the drawing's <g> inside the viewport; fit() shows the whole graph. */
function attachZoom(viewport, pan, size, state) {
  const apply = () => {
    pan.setAttribute("transform", `translate(${state.x},${state.y}) scale(${state.k})`);
    viewport.dataset.scale = state.k.toFixed(3);
  };
  const zoomAt = (factor, cx, cy) => {
    const k = Math.min(MAX_SCALE, Math.max(MIN_SCALE, state.k * factor));
    state.x = cx - (cx - state.x) * (k / state.k);
    state.y = cy - (cy - state.y) * (k / state.k);
    state.k = k;
    apply();
  };
  const fit = () => {
    const w = viewport.clientWidth || size.width, h = viewport.clientHeight || size.height;
    state.k = Math.min(1, w / size.width, h / size.height);
    state.x = (w - size.width * state.k) / 2;
    state.y = (h - size.height * state.k) / 2;
    apply();
  };
  const centre = (x, y, k = Math.max(state.k, 1)) => {
    state.k = k;
    state.x = viewport.clientWidth / 2 - x * k;
    state.y = viewport.clientHeight / 2 - y * k;
    apply();
  };
  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    const area = viewport.getBoundingClientRect();
    zoomAt(Math.exp(-event.deltaY * 0.0015), event.clientX - area.left, event.clientY - area.top);
  }, { passive: false });
  let drag = null;
  viewport.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest(".dj-node-tooltip")) return;
    drag = { x: event.clientX, y: event.clientY, sx: state.x, sy: state.y, moved: false };
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    if (!drag.moved) viewport.setPointerCapture?.(event.pointerId);
    drag.moved = true;
    viewport.classList.add("dj-panning");
    state.x = drag.sx + dx;
    state.y = drag.sy + dy;
    apply();
  });
  const end = () => {
    viewport.classList.remove("dj-panning");
    if (drag && drag.moved) viewport.dataset.dragged = "1"; // the click that follows is no click
    drag = null;
  };
  viewport.addEventListener("pointerup", end);
  viewport.addEventListener("pointercancel", end);
  if (state.k === null) fit();
  else apply();
  return { zoomAt, fit, centre, apply };
}

function legend() {
  const box = html("div", "dj-legend");
  for (const tier of LEGEND) {
    const item = html("span", `dj-legend-item dj-tier-${tier.toLowerCase()}`);
    const swatch = html("span", "dj-swatch");
    item.append(swatch, document.createTextNode(tier));
    box.appendChild(item);
  }
  return box;
}

/** The table a search text names: exact class or table name, then a prefix, then a part. */
export function findTable(nodes, text) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return null;
  const keys = (node) => [node.class_name, node.name, node.table ?? ""].map((s) => s.toLowerCase());
  return nodes.find((node) => keys(node).includes(wanted))
    ?? nodes.find((node) => keys(node).some((key) => key.startsWith(wanted)))
    ?? nodes.find((node) => keys(node).some((key) => key.includes(wanted)))
    ?? null;
}

function toolbar(view) {
  const bar = html("div", "dj-toolbar");
  const search = html("input", "dj-search");
  search.type = "search";
  search.placeholder = "find a table…";
  search.setAttribute("aria-label", "find a table by name");
  const buttons = [["dj-zoom-in", "+", "zoom in"], ["dj-zoom-out", "−", "zoom out"],
                   ["dj-fit", "fit", "fit the whole diagram"],
                   ["dj-status-refresh", "↻", "read the job status now (it refreshes by itself "
                    + "while work is in flight)"]].map(([cls, text, title]) => {
    const button = html("button", cls, text);
    button.title = title;
    button.setAttribute("aria-label", title);
    return button;
  });
  const status = html("span", "dj-search-status");
  bar.append(search, ...buttons, status, legend());
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") status.textContent = view.find(search.value);
  });
  buttons[0].addEventListener("click", () => view.zoom(1.25));
  buttons[1].addEventListener("click", () => view.zoom(0.8));
  buttons[2].addEventListener("click", () => view.fit());
  buttons[3].addEventListener("click", () => view.refreshStatus());
  return bar;
}

/** The per-element view state that survives redraws (zoom, collapsed schemas, selection). */
function viewState(el) {
  if (!el.djView) {
    el.djView = { k: null, x: 0, y: 0, collapsed: new Set(), expanded: new Set(), selected: null };
  }
  return el.djView;
}

function highlight(frame, name, edges) {
  frame.classList.toggle("dj-has-selection", name !== null);
  for (const element of frame.querySelectorAll(".dj-selected, .dj-upstream, .dj-downstream, .dj-lineage")) {
    element.classList.remove("dj-selected", "dj-upstream", "dj-downstream", "dj-lineage");
  }
  if (name === null) return;
  const { up, down } = lineage(name, edges);
  for (const group of frame.querySelectorAll(".dj-node")) {
    const n = group.dataset.name;
    if (n === name) group.classList.add("dj-selected", "dj-lineage");
    else if (up.has(n)) group.classList.add("dj-upstream", "dj-lineage");
    else if (down.has(n)) group.classList.add("dj-downstream", "dj-lineage");
  }
  for (const path of frame.querySelectorAll(".dj-edge")) {
    const { parent, child } = path.dataset;
    if ((up.has(parent) && up.has(child)) || (down.has(parent) && down.has(child))) {
      path.classList.add("dj-lineage");
    }
  }
}

/** The preview under the diagram: one page of the clicked table's rows, with paging. */
function attachPreview(el, container, experimental, pageSize) {
  const preview = html("div", "dj-diagram-preview");
  preview.hidden = true;
  container.appendChild(preview);
  let latest = 0;
  const close = () => {
    latest += 1; // a page still on its way is dropped
    preview.hidden = true;
    preview.replaceChildren();
    delete el.dataset.djPreview;
  };
  const closer = () => {
    const button = html("button", "dj-preview-close", "×");
    button.title = "close the preview";
    button.setAttribute("aria-label", "close the preview");
    button.addEventListener("click", close);
    return button;
  };

  function drawPage(node, page) {
    const title = html("div", "dj-preview-title", `${node.class_name} (${node.tier})`);
    title.appendChild(closer());
    const table = html("table", "dj-rows");
    const head = table.createTHead().insertRow();
    for (const name of page.names) {
      const cell = html("th", page.key.includes(name) ? "dj-key" : "", name);
      cell.title = [page.types[name], page.comments[name]].filter(Boolean).join(" — ");
      head.appendChild(cell);
    }
    const body = table.createTBody();
    for (const values of page.rows) {
      const row = body.insertRow();
      values.forEach((value, i) => {
        const cell = row.insertCell();
        cell.textContent = value;
        if (page.names[i] in page.badges) cell.className = "dj-badge";
      });
    }
    const prev = html("button", "dj-page-prev", "‹ prev");
    const next = html("button", "dj-page-next", "next ›");
    const first = page.rows.length ? page.offset + 1 : 0;
    const info = html("span", "dj-page-info",
                      `rows ${first}–${page.offset + page.rows.length} of ${page.total}`);
    prev.disabled = page.offset === 0;
    next.disabled = page.offset + page.rows.length >= page.total;
    prev.addEventListener("click", () => load(node, Math.max(0, page.offset - page.limit)));
    next.addEventListener("click", () => load(node, page.offset + page.limit));
    const pager = html("div", "dj-pager");
    pager.append(prev, info, next);
    preview.replaceChildren(title, table, pager);
  }

  async function load(node, offset) {
    const ticket = ++latest;
    el.dataset.djPreview = node.name; // reopened after a redraw (e.g. a table was declared)
    preview.hidden = false;
    preview.classList.add("dj-busy");
    try {
      if (!experimental || !experimental.invoke) throw new Error("no kernel to read rows from");
      const [answer] = await experimental.invoke(
        "_rows", { table: node.name, offset, limit: pageSize },
        { signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS) });
      if (ticket !== latest) return; // a newer click superseded this one
      if (answer && answer.error) preview.replaceChildren(closer(), html("div", "dj-preview-error", answer.error));
      else drawPage(node, answer);
    } catch (problem) {
      if (ticket === latest) {
        preview.replaceChildren(closer(), html("div", "dj-preview-error",
                                               `could not fetch rows: ${problem?.message ?? problem}`));
      }
    } finally {
      if (ticket === latest) preview.classList.remove("dj-busy");
    }
  }

  function drawErrors(node, answer) {
    const groups = answer.groups ?? [];
    const failed = groups.reduce((n, g) => n + g.count, 0);
    const title = html("div", "dj-preview-title",
                       `${node.class_name}: ${failed} failed key${failed === 1 ? "" : "s"}`);
    title.appendChild(closer());
    const list = html("ul", "dj-error-groups");
    groups.forEach((group, index) => {
      const item = html("li", "dj-error-group");
      const details = html("details");
      const summary = html("summary");
      const buttons = ["retry", "ignore"].map((action) => {
        const button = html("button", `dj-error-${action}`, action === "retry" ? "Retry" : "Ignore");
        button.title = action === "retry" ? "put these keys back to pending (populate makes them again)"
          : "set these keys aside (reserved populate skips them)";
        button.addEventListener("click", (event) => {
          event.preventDefault();
          errorAction(node, index, action);
        });
        return button;
      });
      summary.append(html("span", "dj-error-count", `${group.count}×`), " ",
                     html("span", "dj-error-title", group.title), " ", ...buttons);
      details.appendChild(summary);
      details.appendChild(html("div", "dj-error-message", group.message));
      const keys = group.keys.map((key) => JSON.stringify(key)).join("  ");
      details.appendChild(html("div", "dj-error-keys", `keys: ${keys}` +
        (group.count > group.keys.length ? ` … ${group.count - group.keys.length} more` : "")));
      const trace = group.frames.map((f) => `${f.file}:${f.line} in ${f.function}\n` +
        (f.context ?? []).map(([n, text]) => `${n === f.line ? "→" : " "} ${n} ${text}`).join("\n"));
      if (trace.length || group.error) {
        details.appendChild(html("pre", "dj-error-trace", [...trace, group.error].filter(Boolean).join("\n")));
      }
      item.appendChild(details);
      list.appendChild(item);
    });
    const hint = html("div", "dj-error-hint", answer.done === undefined
      ? `also in code: ${node.class_name}.jobs.errors (.retry(), .ignore())`
      : `${answer.action === "retry" ? "put back to pending" : "ignored"}: ${answer.done} key${answer.done === 1 ? "" : "s"}`);
    preview.replaceChildren(title, groups.length ? list : html("div", "", "no errors now"), hint);
    list.querySelector("details")?.setAttribute("open", "");
  }

  async function errors(node, action = null) {
    const ticket = ++latest;
    delete el.dataset.djPreview;
    preview.hidden = false;
    preview.classList.add("dj-busy");
    try {
      if (!experimental || !experimental.invoke) throw new Error("no kernel to read errors from");
      const [answer] = await experimental.invoke(
        action ? "_error_action" : "_errors", { table: node.name, ...(action ?? {}) },
        { signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS) });
      if (ticket !== latest) return;
      if (answer && answer.error) preview.replaceChildren(closer(), html("div", "dj-preview-error", answer.error));
      else drawErrors(node, answer);
      el.dataset.djErrors = node.name;
    } catch (problem) {
      if (ticket === latest) {
        preview.replaceChildren(closer(), html("div", "dj-preview-error",
                                               `could not fetch errors: ${problem?.message ?? problem}`));
      }
    } finally {
      if (ticket === latest) preview.classList.remove("dj-busy");
    }
  }

  const errorAction = (node, group, action) => errors(node, { group, action });

  return { open: (node) => load(node, 0), errors, close };
}

function themeOf(model) {
  const theme = model.get("theme") || "auto";
  if (theme !== "auto") return theme;
  const body = document.body;
  if (body && body.dataset.jpThemeLight === "false") return "dark";
  if (body && body.dataset.jpThemeLight === "true") return "light";
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
    ? "dark" : "light";
}


export async function draw(model, el, experimental = null) {
  const dagre = await loadDagre();
  const started = performance.now();
  // a cascade or trace diagram counts rows per table: shown in the label
  const allNodes = (model.get("nodes") ?? []).map((node) => (node.rows == null ? node
    : { ...node, class_name: `${node.class_name} (${node.rows})` }));
  const names = new Set(allNodes.map((node) => node.name));
  const allEdges = (model.get("edges") ?? []).filter(
    (edge) => names.has(edge.parent) && names.has(edge.child));
  const direction = (model.get("direction") || "LR").toUpperCase();
  const state = viewState(el);
  for (const schema of [...state.collapsed]) {
    if (!allNodes.some((node) => node.schema === schema)) state.collapsed.delete(schema);
  }
  if (el.djResize) el.djResize.disconnect();
  el.replaceChildren();
  const container = html("div", "dj-diagram");
  container.dataset.theme = themeOf(model);
  el.appendChild(container);
  if (allNodes.length === 0) {
    container.textContent = "(empty diagram)";
    return;
  }
  const { nodes, edges } = collapse(allNodes, allEdges, state.collapsed, state.expanded);
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const graph = nodes.length > DAGRE_LIMIT ? bandLayout(nodes, edges, direction)
    : layout(dagre, nodes, edges, direction);
  const size = graph.graph();
  const view = {};
  container.appendChild(toolbar(view));
  const viewport = html("div", "dj-viewport");
  viewport.style.height = `${Math.round(Math.min(MAX_VIEWPORT_HEIGHT, Math.max(120, size.height + 8)))}px`;
  container.appendChild(viewport);
  const root = svg("svg", { class: "dj-diagram-svg", role: "img", width: "100%", height: "100%",
                            "data-width": size.width, "data-height": size.height }, viewport);
  const pan = svg("g", { class: "dj-pan" }, root);
  drawClusters(pan, graph);
  drawEdges(pan, graph);
  drawNodes(pan, graph, nodes);
  state.boxes = new Map(nodes.map((node) => [node.name, graph.node(node.name)]));
  const statusLine = (name) => {
    const current = model.get("status") ?? {};
    return statusText((current.tables ?? {})[name], (current.running ?? []).includes(name));
  };
  attachTooltip(viewport, pan.querySelector(".dj-nodes"), byName, statusLine);
  const preview = attachPreview(el, container, experimental, model.get("page_size") || 10);
  const zoom = attachZoom(viewport, pan, size, state);
  const userMoved = () => { state.auto = false; };
  viewport.addEventListener("wheel", userMoved);
  viewport.addEventListener("pointerup", () => { if (viewport.dataset.dragged) userMoved(); });
  if (state.auto === undefined) state.auto = true;
  if (typeof ResizeObserver !== "undefined") {
    el.djResize = new ResizeObserver(() => { if (state.auto) zoom.fit(); });
    el.djResize.observe(viewport);
  }
  const redraw = () => draw(model, el, experimental);

  const select = (name, { centre = false, rows = true } = {}) => {
    state.selected = byName.has(name) ? name : null;
    highlight(viewport, state.selected, edges);
    if (state.selected === null) return;
    if (centre) {
      const box = graph.node(name);
      zoom.centre(box.x, box.y);
      userMoved();
    }
    if (rows) preview.open(byName.get(name));
  };
  view.zoom = (factor) => {
    userMoved();
    zoom.zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2);
  };
  view.fit = () => {
    state.auto = true;
    zoom.fit();
  };
  view.refreshStatus = () => el.djAskStatus?.();
  view.find = (text) => {
    const node = findTable(allNodes, text);
    for (const found of viewport.querySelectorAll(".dj-found")) found.classList.remove("dj-found");
    if (!node) return `no table matches “${text}”`;
    if (state.collapsed.has(node.schema) || (node.folded && !state.expanded.has(node.schema))) {
      state.collapsed.delete(node.schema);
      state.expanded.add(node.schema);
      state.find = node.name;
      redraw();
      return "";
    }
    select(node.name, { centre: true, rows: false });
    viewport.querySelector(`.dj-node[data-name="${CSS.escape(node.name)}"]`)?.classList.add("dj-found");
    return "";
  };

  viewport.addEventListener("click", (event) => {
    if (viewport.dataset.dragged) {
      delete viewport.dataset.dragged;
      return;
    }
    const badge = event.target.closest(".dj-error-badge");
    if (badge) {
      const node = byName.get(badge.closest(".dj-node").dataset.name);
      select(node.name, { rows: false });
      preview.errors(node);
      return;
    }
    const label = event.target.closest(".dj-cluster-label");
    if (label) {
      state.collapsed.add(label.dataset.schema);
      state.expanded.delete(label.dataset.schema);
      redraw();
      return;
    }
    const group = event.target.closest(".dj-node");
    if (!group) {
      select(null);
      return;
    }
    const node = byName.get(group.dataset.name);
    if (node.collapsed) {
      state.collapsed.delete(node.schema);
      state.expanded.add(node.schema);
      redraw();
      return;
    }
    select(node.name);
  });

  if (state.find) {
    const name = state.find;
    delete state.find;
    container.querySelector(".dj-search").value = byName.get(name)?.class_name ?? "";
    view.find(name);
  } else if (el.dataset.djPreview && byName.has(el.dataset.djPreview)) {
    select(el.dataset.djPreview); // reopened after a redraw (e.g. a table was declared)
  } else if (state.selected) {
    select(state.selected, { rows: false });
  }
  applyStatus(el, model);
  el.dataset.djDrawMs = (performance.now() - started).toFixed(1);
}

/** Asks the kernel for fresh status while the view is on screen and work is in flight. */
function attachPolling(model, el, experimental) {
  let visible = true;
  let timer = null;
  let asking = false;
  let closed = false;
  el.dataset.djStatusReads = "0";
  const onScreen = () => visible && document.visibilityState !== "hidden";
  const inFlight = () => {
    const current = model.get("status") ?? {};
    return (current.running ?? []).length > 0
      || Object.values(current.tables ?? {}).some((s) => s.reserved > 0);
  };
  const mark = () => { el.dataset.djPolling = timer !== null || asking ? "1" : "0"; };
  const ask = async () => {
    timer = null;
    if (closed || asking || !experimental?.invoke) return mark();
    asking = true;
    mark();
    try {
      await experimental.invoke("_status", {}, { signal: AbortSignal.timeout(INVOKE_TIMEOUT_MS) });
      el.dataset.djStatusReads = String(Number(el.dataset.djStatusReads) + 1);
    } catch (problem) {
      el.dataset.djStatusError = String(problem?.message ?? problem);
    } finally {
      asking = false;
    }
    schedule();
  };
  const schedule = () => {
    if (!closed && timer === null && !asking && onScreen() && inFlight()) {
      timer = setTimeout(ask, model.get("poll_ms") || 1500);
    } else if (timer !== null && !(onScreen() && inFlight())) {
      clearTimeout(timer);
      timer = null;
    }
    mark();
  };
  el.djAskStatus = () => { // the toolbar's ↻: read now, then poll on if work is in flight
    if (timer !== null) clearTimeout(timer);
    timer = null;
    ask();
  };
  const back = () => { // back on screen: catch up once (work may have started elsewhere)
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (onScreen()) ask();
    else mark();
  };
  let observer = null;
  if (typeof IntersectionObserver !== "undefined") {
    observer = new IntersectionObserver((entries) => {
      const was = visible;
      visible = entries.some((entry) => entry.isIntersecting);
      if (visible && !was) back();
      else schedule();
    });
    observer.observe(el);
  }
  const onVisibility = () => (document.visibilityState === "visible" ? back() : schedule());
  document.addEventListener("visibilitychange", onVisibility);
  const onStatus = () => { applyStatus(el, model); schedule(); };
  model.on("change:status", onStatus);
  schedule();
  return () => {
    closed = true;
    delete el.djAskStatus;
    if (timer !== null) clearTimeout(timer);
    observer?.disconnect();
    document.removeEventListener("visibilitychange", onVisibility);
    model.off("change:status", onStatus);
  };
}

export default {
  async render({ model, el, experimental }) {
    const redraw = () => draw(model, el, experimental);
    for (const name of ["nodes", "edges", "direction", "theme"]) model.on(`change:${name}`, redraw);
    // An "auto" diagram follows JupyterLab's theme while it is on screen: the theme lives in
    // attributes of <body>, so watch those and restyle (colours are CSS keyed on data-theme).
    const followTheme = new MutationObserver(() => {
      const container = el.querySelector(".dj-diagram");
      if (container) container.dataset.theme = themeOf(model);
    });
    if (document.body) {
      followTheme.observe(document.body, { attributes: true,
                                           attributeFilter: ["data-jp-theme-light"] });
    }
    await redraw();
    const stopPolling = attachPolling(model, el, experimental);
    return () => {
      stopPolling();
      followTheme.disconnect();
      if (el.djResize) el.djResize.disconnect();
      for (const name of ["nodes", "edges", "direction", "theme"]) model.off(`change:${name}`, redraw);
    };
  },
};
