// dj.Diagram widget: lays the FK graph out with dagre and draws it as SVG.
//
// The Python side prepends `const DAGRE_SOURCE = "<vendored dagre ESM>";` to this file
// (see dj_jupyter/jupyter/diagram.py); dagre is imported from a Blob URL so its
// minified top-level names never meet ours. Model traits: nodes, edges, direction, theme,
// page_size. Hovering a node shows its definition (.dj-node-tooltip); clicking it shows a
// paged preview of its rows (.dj-diagram-preview), fetched with the `_rows` command.

const SVG_NS = "http://www.w3.org/2000/svg";
const CHAR_WIDTH = { normal: 7.2, part: 6.2 };
const NODE_HEIGHT = { normal: 30, part: 22 };
const TIERS = ["Manual", "Lookup", "Computed", "Imported", "Part"];
const INVOKE_TIMEOUT_MS = 30000;

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
        const label = svg("text", { x: attrs.x + 8, y: attrs.y + 13, class: "dj-cluster-label" }, layer);
        label.textContent = box.label;
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

function html(tag, className = "", text = null) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== null) element.textContent = text;
  return element;
}

/** The styled tooltip: the hovered node's name, tier and definition. */
function attachTooltip(container, frame, nodes) {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const tip = html("div", "dj-node-tooltip");
  tip.hidden = true;
  container.appendChild(tip);
  const place = (event) => {
    const box = container.getBoundingClientRect();
    tip.style.left = `${event.clientX - box.left + container.scrollLeft + 14}px`;
    tip.style.top = `${event.clientY - box.top + container.scrollTop + 14}px`;
  };
  for (const group of frame.querySelectorAll(".dj-node")) {
    const node = byName.get(group.dataset.name);
    group.addEventListener("mouseenter", (event) => {
      tip.replaceChildren(html("div", "dj-tooltip-title", `${node.class_name} (${node.tier})`),
                          html("pre", "dj-tooltip-definition", node.definition));
      tip.hidden = false;
      place(event);
    });
    group.addEventListener("mousemove", place);
    group.addEventListener("mouseleave", () => { tip.hidden = true; });
  }
  return tip;
}

/** The preview under the diagram: one page of the clicked table's rows, with paging. */
function attachPreview(el, container, frame, nodes, experimental, pageSize) {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const preview = html("div", "dj-diagram-preview");
  preview.hidden = true;
  container.appendChild(preview);
  let latest = 0;

  function drawPage(node, page) {
    const title = html("div", "dj-preview-title", `${node.class_name} (${node.tier})`);
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
      if (answer && answer.error) preview.replaceChildren(html("div", "dj-preview-error", answer.error));
      else drawPage(node, answer);
    } catch (problem) {
      if (ticket === latest) {
        preview.replaceChildren(html("div", "dj-preview-error",
                                     `could not fetch rows: ${problem?.message ?? problem}`));
      }
    } finally {
      if (ticket === latest) preview.classList.remove("dj-busy");
    }
  }

  const select = (group) => {
    for (const other of frame.querySelectorAll(".dj-node.dj-selected")) other.classList.remove("dj-selected");
    group.classList.add("dj-selected");
    load(byName.get(group.dataset.name), 0);
  };
  for (const group of frame.querySelectorAll(".dj-node")) {
    group.addEventListener("click", () => select(group));
    if (group.dataset.name === el.dataset.djPreview) select(group);
  }
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
  const nodes = model.get("nodes") ?? [];
  const names = new Set(nodes.map((node) => node.name));
  const edges = (model.get("edges") ?? []).filter(
    (edge) => names.has(edge.parent) && names.has(edge.child));
  const direction = (model.get("direction") || "LR").toUpperCase();
  el.replaceChildren();
  const container = document.createElement("div");
  container.className = "dj-diagram";
  container.dataset.theme = themeOf(model);
  el.appendChild(container);
  if (nodes.length === 0) {
    container.textContent = "(empty diagram)";
    return;
  }
  const graph = layout(dagre, nodes, edges, direction);
  const { width, height } = graph.graph();
  const frame = html("div", "dj-diagram-frame");
  container.appendChild(frame);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`,
                            class: "dj-diagram-svg", role: "img" }, frame);
  drawClusters(root, graph);
  drawEdges(root, graph);
  drawNodes(root, graph, nodes);
  attachTooltip(frame, frame, nodes);
  attachPreview(el, container, frame, nodes, experimental, model.get("page_size") || 10);
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
    return () => {
      followTheme.disconnect();
      for (const name of ["nodes", "edges", "direction", "theme"]) model.off(`change:${name}`, redraw);
    };
  },
};
