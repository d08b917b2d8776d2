// The populate panel (see populate_panel.py): tables, bars, workers, error groups, buttons.
// The kernel sends the whole state at most every `interval` seconds; this redraws it.

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 120 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function keyText(key) {
  return Object.entries(key || {}).map(([k, v]) => `${k}=${v}`).join(", ");
}

function todoText(t) {
  const running = t.state === "running" || t.state === "stopping";
  if (running && t.target !== null && t.todo_all !== null && t.target < t.todo_all) {
    return `${t.target} of ${t.todo_all}`;
  }
  return t.remaining === null ? "" : String(t.remaining);
}

function bar(t) {
  const node = el("div", "dj-pp-bar");
  const total = t.total || 0;
  if (!total) return node;
  const jobs = t.jobs || {};
  const parts = [["done", total - (t.remaining || 0)], ["failed", jobs.error || 0],
                 ["reserved", jobs.reserved || 0], ["ignored", jobs.ignore || 0]];
  for (const [kind, n] of parts) {
    if (n <= 0) continue;
    const seg = el("span", `dj-pp-seg dj-pp-${kind}`);
    seg.style.width = `${(100 * Math.min(n, total)) / total}%`;
    seg.title = `${n} ${kind}`;
    node.appendChild(seg);
  }
  return node;
}

function traceBlock(group) {
  const pre = el("div", "dj-pp-trace");
  for (const f of group.frames) {
    pre.appendChild(el("div", "dj-pp-frame", `File ${f.file}, line ${f.line}, in ${f.function}`));
    if (f.context && f.context.length) {
      for (const [n, text] of f.context) {
        const line = el("div", n === f.line ? "dj-pp-cell-line" : "dj-pp-ctx",
                        `${n === f.line ? "→" : " "} ${String(n).padStart(3)}  ${text}`);
        pre.appendChild(line);
      }
    } else if (f.code) {
      pre.appendChild(el("div", "dj-pp-code", `    ${f.code}`));
    }
  }
  pre.appendChild(el("div", "dj-pp-error", group.error || group.message));
  return pre;
}

function render({ model, el: root }) {
  const open = new Set();
  if (model.get("card_html")) {
    const card = el("div", "dj-pp-card");
    card.innerHTML = model.get("card_html");  // the table card's HTML, made by the kernel
    root.appendChild(card);
  }
  const panel = el("div", "dj-populate-panel");
  root.appendChild(panel);

  function send(message) { model.send(message); }

  // The controls are built once and only updated: a redraw between a button's mousedown and
  // its mouseup (the state arrives every half second while work runs) would lose the click.
  const controls = el("div", "dj-pp-controls");
  const start = el("button", "dj-pp-start", "Start");
  const stop = el("button", "dj-pp-stop", "Stop");
  const label = el("label", "", "workers ");
  const count = el("input", "dj-pp-workers-count");
  count.type = "number"; count.min = "1"; count.max = "64";
  label.appendChild(count);
  start.addEventListener("click", () => send({ action: "start", workers: Number(count.value) || 1 }));
  stop.addEventListener("click", () => send({ action: "stop" }));
  controls.append(start, stop, label);
  const body = el("div", "dj-pp-body");
  panel.append(controls, body);

  function syncControls() {
    controls.hidden = !model.get("controls");
    const running = model.get("running");
    start.disabled = running;
    stop.disabled = !running;
    if (document.activeElement !== count) count.value = String(model.get("workers"));
  }

  function groupItem(t, group, index) {
    const id = `${t.name}|${group.title}`;
    const item = el("li", "dj-pp-group");
    const details = el("details");
    details.open = open.has(id);
    details.addEventListener("toggle", () => { details.open ? open.add(id) : open.delete(id); });
    const summary = el("summary");
    summary.append(el("span", "dj-pp-n", `${group.count}×`), " ",
                   el("span", "dj-pp-msg", group.title));
    const retry = el("button", "dj-pp-retry", "Retry");
    const ignore = el("button", "dj-pp-ignore", "Ignore");
    retry.addEventListener("click", (e) => { e.preventDefault(); send({ action: "retry", table: t.name, group: index }); });
    ignore.addEventListener("click", (e) => { e.preventDefault(); send({ action: "ignore", table: t.name, group: index }); });
    summary.append(retry, ignore);
    details.appendChild(summary);
    details.appendChild(el("div", "dj-pp-msg dj-pp-example", group.message));
    details.appendChild(traceBlock(group));
    const keys = el("ul", "dj-pp-keys");
    for (const key of group.keys) {
      const li = el("li", "dj-pp-key", keyText(key));
      const r = el("button", "dj-pp-retry-key", "Retry");
      const i = el("button", "dj-pp-ignore-key", "Ignore");
      r.addEventListener("click", () => send({ action: "retry", table: t.name, key }));
      i.addEventListener("click", () => send({ action: "ignore", table: t.name, key }));
      li.append(r, i);
      keys.appendChild(li);
    }
    if (group.count > group.keys.length) keys.appendChild(el("li", "", `… ${group.count - group.keys.length} more`));
    details.appendChild(keys);
    item.appendChild(details);
    return item;
  }

  function table(t) {
    const box = el("div", `dj-pp-table dj-pp-${t.state}`);
    box.dataset.table = t.name;
    const head = el("div", "dj-pp-head");
    head.appendChild(el("span", "dj-pp-name", t.name));
    const jobs = t.jobs || {};
    const done = t.total === null ? null : t.total - (t.remaining || 0);
    const counts = [["todo", "to do", todoText(t)], ["done", "done", done],
                    ["errors", "errors", jobs.error || 0], ["ignored", "ignored", jobs.ignore || 0],
                    ["reserved", "reserved", jobs.reserved || 0]];
    for (const [cls, label, value] of counts) {
      if (value === null || value === "") continue;
      const c = el("span", `dj-pp-count dj-pp-count-${cls}`);
      c.append(el("b", "", value), ` ${label}`);
      head.appendChild(c);
    }
    box.appendChild(head);
    box.appendChild(bar(t));
    if (t.state !== "idle") {
      const rate = t.rate ? `${t.rate.toFixed(t.rate < 10 ? 1 : 0)} keys/s` : "–";
      box.appendChild(el("div", "dj-pp-line dj-pp-rate",
        `${t.made} made, ${t.failed} failed · ${rate} · elapsed ${fmtSeconds(t.elapsed)}` +
        (t.eta !== null ? ` · ETA ${fmtSeconds(t.eta)}` : "")));
    }
    if (t.key) {
      let text = `making ${keyText(t.key)}`;
      if (t.phase) {
        const times = Object.entries(t.phases || {}).map(([p, s]) => `${p} ${fmtSeconds(s)}`).join(", ");
        text += ` — ${t.phase} (${times})`;
      }
      box.appendChild(el("div", "dj-pp-line dj-pp-current", text));
    }
    if (t.workers && t.workers.length) {
      const w = el("table", "dj-pp-workers");
      const head = el("tr");
      for (const h of ["host", "pid", "jobs", "since", "heartbeat"]) head.appendChild(el("th", "", h));
      w.appendChild(head);
      for (const worker of t.workers) {
        const row = el("tr", "dj-pp-worker");
        const age = worker.heartbeat_age === null ? "–" : `${fmtSeconds(worker.heartbeat_age)} ago`;
        for (const v of [worker.host, worker.pid, worker.jobs, worker.since, age]) row.appendChild(el("td", "", v));
        w.appendChild(row);
      }
      box.appendChild(w);
    }
    if (t.summary) box.appendChild(el("div", "dj-pp-summary", t.summary));
    if (t.groups && t.groups.length) {
      const list = el("ul", "dj-pp-groups");
      t.groups.forEach((g, i) => list.appendChild(groupItem(t, g, i)));
      box.appendChild(list);
    }
    return box;
  }

  function draw() {
    syncControls();
    body.replaceChildren();
    for (const t of model.get("tables")) body.appendChild(table(t));
    body.appendChild(el("div", "dj-pp-status", model.get("status")));
  }

  draw();
  for (const name of ["tables", "status", "running", "workers", "controls"]) model.on(`change:${name}`, draw);

  let visible = false;
  const observer = new IntersectionObserver((entries) => {
    const now = entries.some((e) => e.isIntersecting);
    if (now !== visible) { visible = now; send({ action: "visible", value: now }); }
  });
  observer.observe(panel);
  return () => {
    observer.disconnect();
    if (visible) send({ action: "visible", value: false });
    for (const name of ["tables", "status", "running", "workers", "controls"]) model.off(`change:${name}`, draw);
  };
}

export default { render };
