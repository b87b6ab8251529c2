// FOCAS entry surface: a keyboard-first score grid, consensus column and participant register that
// own the keyboard in the browser, with a journal in localStorage that is re-sent until the server
// answers every cell. Plain JavaScript, no network, no build step: pages/_entry.py ships this file
// inline as a Streamlit Components v2 module.
//
// Data from Python (pages/_entry.py): mode ("grid" | "register"), scope (assessment id), editable,
// editToken, texts, scale [min, max], levels, areas, participants, scores, consensus, acks, area, view,
// choices (register).
// To Python: trigger "batch" {id, edits: [{c: cell, v: value, x: value it replaces}]}, state "nav".
//
// The journal (one per assessment and browser tab, adopted by the next tab when its tab is gone):
// {cells: {cell: {v, x, st: "pending" | "sent" | "refused", r, m, cur, b, at}}, inflight, order}.
// A cell leaves the journal only when the server says it is saved.

const TAB_KEY = "focas.entry.tab";
// where each surface was (area, view, cell, focused field): Streamlit may mount a surface anew when the
// elements above it change, and the new one must carry on where the old one was, keyboard focus included
const PLACES = new Map();
// one journal object per storage key in this page: two surfaces of one assessment (a register still on screen
// while the grid is drawn) share it instead of overwriting each other's copy
const JOURNALS = new Map();
function journalFor(scope) {
  let journal = JOURNALS.get(scope);
  if (!journal) { journal = new Journal(scope); JOURNALS.set(scope, journal); }
  return journal;
}
const BATCH_MAX = 200;
const RETRY_MS = [1500, 3000, 5000, 8000];

function uuid4() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function tabId() {
  let id = null;
  try { id = sessionStorage.getItem(TAB_KEY); } catch (e) { /* storage off */ }
  if (!id) {
    id = uuid4();
    try { sessionStorage.setItem(TAB_KEY, id); } catch (e) { /* storage off */ }
  }
  return id;
}

function fmt(text, params) {
  return String(text || "").replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// ---------------------------------------------------------------------------------- the journal

class Journal {
  constructor(scope) {
    this.tab = tabId();
    this.prefix = `focas.journal.${scope}.`;
    this.key = this.prefix + this.tab;
    this.state = { cells: {}, inflight: null, order: [] };
    this.storageOk = true;
    try {
      const raw = localStorage.getItem(this.key);
      if (raw) this.state = Object.assign(this.state, JSON.parse(raw));
    } catch (e) { this.storageOk = false; }
    this.adoptOrphans();
    this.beat();
  }
  beat() {
    try { localStorage.setItem(`focas.tabbeat.${this.tab}`, String(Date.now())); } catch (e) { /* */ }
  }
  // journals of tabs that are gone (closed, browser restarted) are taken over by this one
  adoptOrphans() {
    let keys = [];
    try { keys = Object.keys(localStorage).filter((k) => k.startsWith(this.prefix) && k !== this.key); }
    catch (e) { return; }
    for (const k of keys) {
      const other = k.slice(this.prefix.length);
      const beat = Number(localStorage.getItem(`focas.tabbeat.${other}`) || 0);
      if (Date.now() - beat < 20000) continue;
      try {
        const theirs = JSON.parse(localStorage.getItem(k) || "{}");
        for (const [cell, entry] of Object.entries(theirs.cells || {})) {
          if (!(cell in this.state.cells)) {
            this.state.cells[cell] = Object.assign({}, entry, { st: entry.st === "sent" ? "pending" : entry.st });
            if (cell.startsWith("p|") || cell.startsWith("r|")) this.state.order.push(cell);
          }
        }
        localStorage.removeItem(k);
        localStorage.removeItem(`focas.tabbeat.${other}`);
      } catch (e) { /* a broken foreign journal is left alone */ }
    }
    this.save();
  }
  save() {
    try { localStorage.setItem(this.key, JSON.stringify(this.state)); this.storageOk = true; }
    catch (e) { this.storageOk = false; }
  }
  get(cell) { return this.state.cells[cell]; }
  set(cell, entry) { this.state.cells[cell] = entry; this.save(); }
  drop(cell) {
    delete this.state.cells[cell];
    this.state.order = this.state.order.filter((c) => c !== cell);
    this.save();
  }
  counts() {
    let waiting = 0; let refused = 0;
    for (const e of Object.values(this.state.cells)) {
      if (e.st === "refused") refused += 1; else waiting += 1;
    }
    return { waiting, refused };
  }
}

// ---------------------------------------------------------------------------------- the surface

class EntrySurface {
  constructor(root) {
    this.root = root;
    this.data = null;
    this.active = { row: 0, col: 0 };
    this.direction = "row";
    this.server = {};
    this.savedPeople = [];
    this.retry = 0;
    this.holdUntil = 0;
    this.buffer = "";
    this.editor = null;
    this.start();
    this.wrap = el("div", { class: "fe-wrap" });
    root.append(this.wrap);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) this.flush(true); });
    window.addEventListener("online", () => this.flush(true));
  }

  t(key, params) { return fmt((this.data.texts || {})[key] || key, params); }

  start() { if (!this.timer) this.timer = setInterval(() => this.tick(), 700); }

  stop() { clearInterval(this.timer); this.timer = null; }

  placeKey(data) { return `${(data || this.data).scope}|${(data || this.data).mode}`; }

  keepPlace() {
    if (!this.data) return;
    const focused = this.root.activeElement || null;
    PLACES.set(this.placeKey(), {
      area: this.area, view: this.view, direction: this.direction, active: { ...this.active },
      field: focused && focused.dataset ? focused.dataset.field || (focused === this.table ? "grid" : null) : null,
      at: Date.now(),
    });
  }

  update(data, send, setState) {
    const first = this.data === null;
    const structure = (d) => JSON.stringify([d.mode, d.scope, d.journal, d.editable, (d.participants || []).map((p) => p.id),
      (d.areas || []).map((a) => [a.code, a.indicators.map((i) => i.code)]), d.lang]);
    const rebuild = first || structure(data) !== structure(this.data);
    const scopeChanged = first || data.scope !== this.data.scope;
    const tokenChanged = !first && data.editToken !== this.data.editToken;
    this.data = data;
    this.send = send;
    this.setState = setState;
    if (scopeChanged) {
      this.journal = journalFor(data.journal ? `${data.scope}.${data.journal}` : data.scope);
      if (this.journal.state.inflight) this.journal.state.inflight.sentAt = 0;  // re-send at once
      const areas = data.areas || [];
      this.area = data.area && areas.some((a) => a.code === data.area) ? data.area : (areas[0] || {}).code;
      this.view = data.view === "consensus" ? "consensus" : "individual";
      this.active = { row: 0, col: 0 };
      const place = PLACES.get(this.placeKey(data));
      if (place && Date.now() - place.at < 10 * 60 * 1000) {
        this.area = areas.some((a) => a.code === place.area) ? place.area : this.area;
        this.view = place.view || this.view;
        this.direction = place.direction || this.direction;
        this.active = place.active || this.active;
        this.restoreFocus = Date.now() - place.at < 5000 ? place.field : null;
      }
    }
    this.server = {};
    const prefix = data.cellPrefix || "s";
    for (const [k, v] of Object.entries(data.scores || {})) this.server[`${prefix}|${k}`] = v;
    for (const [code, c] of Object.entries(data.consensus || {})) {
      this.server[`a|${code}`] = c.a;
      this.server[`e|${code}`] = c.e || "";
    }
    for (const ack of data.acks || []) this.receive(ack);
    if (tokenChanged && data.editable) this.requeue((e) => e.r === "locked");
    if (rebuild) this.render(); else this.refresh();
    if (this.restoreFocus) {
      const field = this.restoreFocus;
      this.restoreFocus = null;
      if (field === "grid") this.focusGrid();
      else if (this.inputs && this.inputs[field]) this.inputs[field].focus();
    }
    this.flush();
  }

  // ------------------------------------------------------------------------- sending and answers

  requeue(which) {
    let n = 0;
    for (const e of Object.values(this.journal.state.cells)) if (e.st === "refused" && which(e)) { e.st = "pending"; n += 1; }
    if (n) this.journal.save();
  }

  tick() {
    this.journal && this.journal.beat();
    this.flush();
    this.status();
  }

  flush(now) {
    if (!this.journal || !this.send || !this.data || !this.data.editable) return;
    const j = this.journal.state;
    const t = Date.now();
    if (j.inflight) {
      const wait = RETRY_MS[Math.min(this.retry, RETRY_MS.length - 1)];
      if (!now && t - (j.inflight.sentAt || 0) < wait) return;
      if (j.inflight.sentAt) this.retry += 1;
      j.inflight.sentAt = t;
      this.journal.save();
      this.send("batch", { id: j.inflight.id, edits: j.inflight.edits });
      return;
    }
    if (!now && t < this.holdUntil) return;
    const edits = [];
    const id = uuid4();
    const ordered = Object.keys(j.cells).sort((a, b) => (a.startsWith("p|") ? 0 : 1) - (b.startsWith("p|") ? 0 : 1));
    // the surface on screen sends only its own kind: a questionnaire journal never goes to a FOCAS assessment
    const mine = (cell) => (this.data.mode === "questionnaire") === cell.startsWith("r|");
    for (const cell of ordered) {
      const e = j.cells[cell];
      if (e.st !== "pending" || !mine(cell) || (e.quietUntil && e.quietUntil > t)) continue;
      edits.push({ c: cell, v: e.v, x: e.x === undefined ? null : e.x });
      e.st = "sent";
      e.b = id;
      if (edits.length >= (this.data.batchMax || BATCH_MAX)) break;
    }
    if (!edits.length) return;
    j.inflight = { id, edits, sentAt: t };
    this.journal.save();
    this.send("batch", { id, edits });
    this.refresh();
  }

  receive(ack) {
    const j = this.journal && this.journal.state;
    if (!j || !j.inflight || !ack || ack.batch !== j.inflight.id) return;
    let busy = false;
    for (const edit of j.inflight.edits) {
      const answer = (ack.cells || {})[edit.c];
      const e = j.cells[edit.c];
      if (!answer || !e) continue;
      const unchanged = e.st === "sent" && e.b === j.inflight.id;
      if (answer.status === "saved") {
        this.server[edit.c] = answer.current;
        if (unchanged) {
          if (edit.c.startsWith("p|") || edit.c.startsWith("r|")) this.savedPeople.unshift({ label: e.label, code: (answer.current || {}).code });
          delete j.cells[edit.c];
          j.order = j.order.filter((c) => c !== edit.c);
        } else {
          e.x = answer.current;  // typed again meanwhile: the new value replaces what was just saved
        }
      } else if (unchanged) {
        if (answer.reason === "busy") { e.st = "pending"; busy = answer.message || true; } else e.st = "refused";
        e.r = answer.reason;
        e.m = answer.message;
        e.cur = answer.current;
      }
    }
    j.inflight = null;
    if (busy) {
      if (typeof busy === "string") this.say(busy, true);
      this.retry += 1;
      this.holdUntil = Date.now() + RETRY_MS[Math.min(this.retry, RETRY_MS.length - 1)];
    } else {
      if (this.retry && this.sayLine && this.sayLine.dataset.busy) this.say("");
      this.retry = 0;
    }
    this.savedPeople = this.savedPeople.slice(0, 30);
    this.journal.save();
  }

  // ------------------------------------------------------------------------------- editing cells

  scaleOk(v) {
    const [lo, hi] = this.data.scale;
    return Number.isInteger(v) && v >= lo && v <= hi;
  }

  shown(cell) {
    const e = this.journal.get(cell);
    return e ? e.v : this.server[cell];
  }

  edit(cell, value) {
    // a validated assessment waiting for its reason keeps what is typed (sent once the reason is given)
    if (!this.data.editable && !this.data.canUnlock) { this.say(this.t("readonly")); return; }
    const old = this.journal.get(cell);
    const base = old ? (old.st === "refused" && old.r === "conflict" ? old.cur : old.x) : this.server[cell];
    const same = (a, b) => (a === null || a === undefined || a === "" ? null : a) === (b === null || b === undefined || b === "" ? null : b);
    if (!old && same(value, base)) return;
    if (old && same(value, base) && old.st !== "sent" && (old.r !== "conflict")) { this.journal.drop(cell); this.refresh(); return; }
    const entry = { v: value, x: base === undefined ? null : base, st: "pending", at: Date.now() };
    if (!this.data.editable) Object.assign(entry, { st: "refused", r: "locked", m: this.t("needs_reason") });
    else if (cell.startsWith("s|") || cell.startsWith("a|") || cell.startsWith("q|")) {
      if (value !== null && !this.scaleOk(value)) {
        const [lo, hi] = this.data.scale;
        Object.assign(entry, { st: "refused", r: "scale", m: this.t("off_scale", { value, min: lo, max: hi }) });
      }
    }
    if (old && old.st === "sent") entry.b = old.b;
    if (old && old.st === "sent") { entry.st = entry.st === "refused" ? "refused" : "pending"; }
    this.journal.set(cell, entry);
    this.refreshCell(cell);
    this.flush();
    this.status();
  }

  discard(cell) {
    const e = this.journal.get(cell);
    if (e && e.st === "refused") { this.journal.drop(cell); this.refreshCell(cell); this.status(); }
  }

  // ------------------------------------------------------------------------------------ drawing

  render() {
    this.wrap.replaceChildren();
    this.statusLine = el("div", { class: "fe-status", role: "status", "aria-live": "polite" });
    this.sayLine = el("div", { class: "fe-say", "aria-live": "assertive" });
    if (this.data.mode === "register") this.renderRegister();
    else if (this.data.mode === "questionnaire") this.renderQuestionnaire();
    else this.renderGrid();
    this.refresh();
  }

  refresh() {
    if (this.data.mode === "register" || this.data.mode === "questionnaire") { this.drawQueue(); this.status(); return; }
    else if (this.cells) for (const cell of Object.keys(this.cells)) this.refreshCell(cell);
    if (this.data.mode !== "register") this.drawStats();
    this.status();
  }

  say(text, busy = false) {
    if (!this.sayLine) return;
    this.sayLine.textContent = text || "";
    this.sayLine.dataset.busy = busy ? "1" : "";
  }

  status() {
    if (!this.statusLine || !this.journal) return;
    const { waiting, refused } = this.journal.counts();
    const j = this.journal.state;
    const late = j.inflight && j.inflight.sentAt && Date.now() - j.inflight.sentAt > 4000;
    let text;
    if (!waiting && !refused) text = this.t("all_saved");
    else {
      const parts = [];
      if (waiting) parts.push(this.t(waiting === 1 ? "pending_one" : "pending_many", { n: waiting }));
      if (refused) parts.push(this.t(refused === 1 ? "refused_one" : "refused_many", { n: refused }));
      text = parts.join(" · ");
      if (late) text += " · " + this.t("offline");
    }
    if (!this.journal.storageOk) text += " · " + this.t("no_storage");
    this.statusLine.textContent = text;
    this.statusLine.dataset.waiting = String(waiting);
    this.statusLine.dataset.refused = String(refused);
    this.statusLine.className = "fe-status" + (refused ? " fe-bad" : waiting ? " fe-wait" : " fe-ok");
  }

  areaObj() { return this.data.areas.find((a) => a.code === this.area) || this.data.areas[0]; }

  renderGrid() {
    const d = this.data;
    const bar = el("div", { class: "fe-bar" });
    this.areaButtons = {};
    for (const a of d.areas) {
      const b = el("button", { class: "fe-area", type: "button", title: a.name, "aria-pressed": String(a.code === this.area),
        onclick: () => this.setArea(a.code) }, a.code);
      this.areaButtons[a.code] = b;
      bar.append(b);
    }
    const views = d.noConsensus ? el("div", {}) : el("div", { class: "fe-bar" },
      el("button", { class: "fe-view", type: "button", "aria-pressed": String(this.view === "individual"),
        onclick: () => this.setView("individual") }, this.t("view_individual")),
      el("button", { class: "fe-view", type: "button", "aria-pressed": String(this.view === "consensus"),
        onclick: () => this.setView("consensus") }, this.t("view_consensus")));
    const dir = el("select", { class: "fe-dir", "aria-label": this.t("direction"),
      onchange: (e) => { this.direction = e.target.value; this.focusGrid(); } },
      el("option", { value: "row" }, this.t("direction_row")), el("option", { value: "col" }, this.t("direction_col")));
    dir.value = this.direction;
    if (this.view === "consensus") dir.disabled = true;
    const area = this.areaObj();
    const title = el("div", { class: "fe-title" }, `${area.code} · ${area.name}` + (area.mandatory ? ` · ${this.t("mandatory")}` : ""));
    this.table = el("div", { class: "fe-grid", role: "grid", tabindex: "0", "aria-label": this.t("grid_label", { area: area.name }),
      "data-area": area.code, "data-view": this.view });
    this.table.addEventListener("keydown", (e) => this.onKey(e));
    this.table.addEventListener("focus", () => this.keepPlace());
    this.table.addEventListener("paste", (e) => this.onPaste(e));
    this.cells = {};
    this.positions = [];
    if (this.view === "individual") this.buildScores(area); else this.buildConsensus(area);
    this.help = el("div", { class: "fe-help", "aria-live": "polite" });
    const hint = el("div", { class: "fe-hint" }, this.t(this.view === "individual" ? "keys_grid" : "keys_consensus"));
    this.wrap.append(el("div", { class: "fe-top" }, views, el("label", { class: "fe-dirlabel" }, this.t("direction"), " ", dir)),
      bar, title, this.statusLine, this.sayLine, el("div", { class: "fe-scroll" }, this.table), this.help, hint);
    this.clampActive();
    this.moveTo(this.active.row, this.active.col, false);
  }

  buildScores(area) {
    const d = this.data;
    const head = el("div", { class: "fe-row fe-head", role: "row" },
      el("div", { class: "fe-who", role: "columnheader" }, this.t("participant")));
    area.indicators.forEach((ind) => head.append(el("div", { class: "fe-colhead", role: "columnheader", title: ind.name }, ind.code)));
    this.table.append(head);
    if (!d.participants.length) {
      this.table.append(el("div", { class: "fe-empty" }, this.t("no_participants")));
      return;
    }
    d.participants.forEach((p, r) => {
      const row = el("div", { class: "fe-row", role: "row" },
        el("div", { class: "fe-who", role: "rowheader" }, p.name ? `${p.code} · ${p.name}` : p.code));
      const line = [];
      area.indicators.forEach((ind, c) => {
        const cell = `${d.cellPrefix || "s"}|${p.id}|${ind.code}`;
        const node = el("div", { class: "fe-cell", role: "gridcell", "data-cell": cell, "data-row": r, "data-col": c,
          onmousedown: (e) => { e.preventDefault(); this.moveTo(r, c); this.focusGrid(); } });
        node.dataset.label = `${p.code}, ${ind.code}`;
        this.cells[cell] = node;
        line.push(cell);
        row.append(node);
      });
      this.positions.push(line);
      this.table.append(row);
    });
  }

  buildConsensus(area) {
    const head = el("div", { class: "fe-row fe-head", role: "row" });
    for (const k of ["indicator", "n", "median", "iqr", "range", "flag", "agreed", "evidence"]) {
      head.append(el("div", { class: `fe-colhead fe-c-${k}`, role: "columnheader" }, this.t(`col_${k}`)));
    }
    this.table.append(head);
    this.stats = {};
    area.indicators.forEach((ind, r) => {
      const row = el("div", { class: "fe-row", role: "row" },
        el("div", { class: "fe-who fe-c-indicator", role: "rowheader", title: ind.name }, `${ind.code} · ${ind.name}`));
      const stat = {};
      for (const k of ["n", "median", "iqr", "range", "flag"]) {
        stat[k] = el("div", { class: `fe-stat fe-c-${k}`, role: "gridcell" });
        row.append(stat[k]);
      }
      this.stats[ind.code] = stat;
      const line = [];
      ["a", "e"].forEach((kind, c) => {
        const cell = `${kind}|${ind.code}`;
        const node = el("div", { class: `fe-cell ${kind === "e" ? "fe-text fe-c-evidence" : "fe-c-agreed"}`, role: "gridcell",
          "data-cell": cell, "data-row": r, "data-col": c,
          onmousedown: (e) => { if (this.editor) return; e.preventDefault(); this.moveTo(r, c); this.focusGrid(); },
          ondblclick: () => { if (kind === "e") this.openText(cell, null); } });
        node.dataset.label = `${ind.code}, ${this.t(kind === "a" ? "col_agreed" : "col_evidence")}`;
        this.cells[cell] = node;
        line.push(cell);
        row.append(node);
      });
      this.positions.push(line);
      this.table.append(row);
    });
    this.drawStats();
  }

  drawStats() {
    if (!this.stats) return;
    for (const [code, s] of Object.entries(this.stats)) {
      const c = (this.data.consensus || {})[code] || {};
      const num = (v, digits) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
      s.n.textContent = c.n === undefined ? "—" : String(c.n);
      s.median.textContent = num(c.median, 1);
      s.iqr.textContent = num(c.iqr, 2);
      s.range.textContent = c.min === null || c.min === undefined ? "—" : `${c.min}–${c.max}`;
      s.flag.textContent = c.wide ? "⚠ " + this.t("discuss") : "";
    }
  }

  refreshCell(cell) {
    const node = this.cells && this.cells[cell];
    if (!node) return;
    if (this.editor && node.contains(this.editor)) return;  // being typed into: the editor owns it
    const e = this.journal.get(cell);
    const value = e ? e.v : this.server[cell];
    const text = value === null || value === undefined ? "" : String(value);
    let state = "saved";
    if (e) state = e.st === "refused" ? "refused" : "waiting";
    node.dataset.state = state;
    node.dataset.value = text;
    node.replaceChildren(el("span", { class: "fe-v" }, text));
    let label = `${node.dataset.label}: ${text || this.t("empty")}`;
    if (state === "waiting") {
      const why = e.r === "busy" && e.m ? e.m : this.t("waiting");
      node.title = why;
      label += `, ${why}`;
    } else if (state === "refused") {
      const theirs = e.r === "conflict" ? ` (${this.t("theirs")}: ${e.cur === null || e.cur === undefined || e.cur === "" ? "—" : e.cur})` : "";
      node.append(el("span", { class: "fe-why" }, this.t(`why_${e.r}`) + theirs));
      node.title = (e.m || "") + " " + this.t("refused_help");
      label += `, ${e.m || this.t("why_" + e.r)}`;
    } else node.title = "";
    node.setAttribute("aria-label", label);
  }

  clampActive() {
    const rows = this.positions.length;
    if (!rows) { this.active = { row: 0, col: 0 }; return; }
    this.active.row = Math.max(0, Math.min(rows - 1, this.active.row));
    this.active.col = Math.max(0, Math.min(this.positions[0].length - 1, this.active.col));
  }

  moveTo(row, col, announce = true) {
    if (!this.positions.length) return;
    this.active = { row, col };
    this.clampActive();
    this.buffer = "";
    for (const n of this.table.querySelectorAll(".fe-active")) n.classList.remove("fe-active");
    const cell = this.positions[this.active.row][this.active.col];
    const node = this.cells[cell];
    node.classList.add("fe-active");
    this.keepPlace();
    if (!node.id) node.id = `fe-cell-${this.active.row}-${this.active.col}`;
    this.table.setAttribute("aria-activedescendant", node.id);
    if (announce) node.scrollIntoView({ block: "nearest", inline: "nearest" });
    this.describe(cell);
  }

  describe(cell) {
    if (!this.help) return;
    const area = this.areaObj();
    const code = cell.split("|").pop();
    const ind = area.indicators.find((i) => i.code === code);
    if (!ind) return;
    const levels = this.data.levels.map((lv) => el("div", { class: "fe-level" },
      el("b", {}, `${lv.level} · ${lv.name}`), ": ", (ind.descriptors || {})[lv.level] || "—"));
    this.help.replaceChildren(el("div", { class: "fe-ind" }, `${ind.code} · ${ind.name}`), ...levels);
    const e = this.journal.get(cell);
    this.say(e && e.st === "refused" ? e.m : "");
  }

  step(forward) {
    const rows = this.positions.length; const cols = rows ? this.positions[0].length : 0;
    let { row, col } = this.active;
    const byRow = this.view === "individual" && this.direction === "row";
    if (byRow) {
      col += forward ? 1 : -1;
      if (col >= cols) { col = 0; row += 1; }
      if (col < 0) { col = cols - 1; row -= 1; }
    } else {
      row += forward ? 1 : -1;
      if (this.view === "individual") {
        if (row >= rows) { row = 0; col += 1; }
        if (row < 0) { row = rows - 1; col -= 1; }
      }
    }
    if (row >= rows || col >= cols) { this.say(this.t("end_of_area")); return; }
    if (row < 0 || col < 0) return;
    this.moveTo(row, col);
  }

  focusGrid() { if (this.table) this.table.focus({ preventScroll: true }); }

  setArea(code) {
    if (!code || code === this.area) return;
    this.area = code;
    this.active = { row: 0, col: 0 };
    this.render();
    this.focusGrid();
    this.remember();
  }

  setView(view) {
    if (view === this.view) return;
    this.view = view;
    this.active = { row: 0, col: 0 };
    this.render();
    this.focusGrid();
    this.remember();
  }

  remember() {
    if (this.setState) this.setState("nav", { area: this.area, view: this.view });
  }

  commitBuffer() {
    if (!this.buffer) return false;
    const cell = this.positions[this.active.row][this.active.col];
    const value = parseInt(this.buffer, 10);
    this.buffer = "";
    this.edit(cell, value);
    return true;
  }

  onKey(e) {
    if (this.editor || !this.positions.length) return;
    const cell = this.positions[this.active.row][this.active.col];
    const text = cell.startsWith("e|");
    const k = e.key;
    const areas = this.data.areas.map((a) => a.code);
    const at = areas.indexOf(this.area);
    if (k === "PageDown" || (e.altKey && k === "ArrowRight")) { e.preventDefault(); this.setArea(areas[at + 1]); return; }
    if (k === "PageUp" || (e.altKey && k === "ArrowLeft")) { e.preventDefault(); this.setArea(areas[at - 1]); return; }
    if (e.ctrlKey || e.metaKey || e.altKey) return;  // copy, paste and the browser's own keys
    if (/^[0-9]$/.test(k) && !text) {
      e.preventDefault();
      this.buffer += k;
      const value = parseInt(this.buffer, 10);
      if (value * 10 > this.data.scale[1] || this.buffer.length >= 2) {
        this.buffer = "";
        this.edit(cell, value);
        this.step(true);
      } else {
        this.cells[cell].querySelector(".fe-v").textContent = this.buffer;
      }
      return;
    }
    switch (k) {
      case "Enter":
        e.preventDefault();
        if (text && !e.shiftKey) { this.openText(cell, null); return; }
        this.commitBuffer();
        this.moveVertical(e.shiftKey ? -1 : 1);
        return;
      case "Tab":
        e.preventDefault();
        this.commitBuffer();
        this.moveHorizontal(e.shiftKey ? -1 : 1);
        return;
      case "ArrowRight": e.preventDefault(); this.commitBuffer(); this.moveHorizontal(1); return;
      case "ArrowLeft": e.preventDefault(); this.commitBuffer(); this.moveHorizontal(-1); return;
      case "ArrowDown": e.preventDefault(); this.commitBuffer(); this.moveVertical(1); return;
      case "ArrowUp": e.preventDefault(); this.commitBuffer(); this.moveVertical(-1); return;
      case "Home": e.preventDefault(); this.moveTo(this.active.row, 0); return;
      case "End": e.preventDefault(); this.moveTo(this.active.row, this.positions[0].length - 1); return;
      case "Backspace":
      case "Delete":
        e.preventDefault();
        this.buffer = "";
        this.edit(cell, text ? "" : null);
        if (k === "Backspace" && !text) this.step(true);
        return;
      case "Escape":
        e.preventDefault();
        if (this.buffer) { this.buffer = ""; this.refreshCell(cell); } else this.discard(cell);
        return;
      default:
        if (text && k.length === 1) { e.preventDefault(); this.openText(cell, k); return; }
        if (k.length === 1 && !text) {
          e.preventDefault();
          const [lo, hi] = this.data.scale;
          this.say(this.t("digits_only", { min: lo, max: hi }));
        }
    }
  }

  moveHorizontal(d) { this.moveTo(this.active.row, this.active.col + d); }
  moveVertical(d) { this.moveTo(this.active.row + d, this.active.col); }

  openText(cell, first) {
    if (!this.data.editable && !this.data.canUnlock) { this.say(this.t("readonly")); return; }
    const node = this.cells[cell];
    const value = this.shown(cell) || "";
    // maxlength = assessments/text.py LIMITS["focas.evidence"] (tests/test_text_limits.py keeps them equal)
    const input = el("textarea", { class: "fe-editor", rows: "2", maxlength: "2000", "aria-label": node.dataset.label });
    input.value = first === null ? value : first;
    node.replaceChildren(input);
    this.editor = input;
    let timer = null;
    const keep = () => this.edit(cell, input.value);
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { if (this.editor === input) keep(); }, 600); });
    const close = (move) => {
      clearTimeout(timer);
      if (this.editor !== input) return;
      this.editor = null;
      keep();
      this.refreshCell(cell);
      this.focusGrid();
      if (move) this.moveVertical(move);
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); close(1); }
      else if (e.key === "Tab") { e.preventDefault(); close(0); this.moveHorizontal(e.shiftKey ? -1 : 1); }
      else if (e.key === "Escape") { e.preventDefault(); this.editor = null; this.refreshCell(cell); this.focusGrid(); }
    });
    input.addEventListener("blur", () => close(0));
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  onPaste(e) {
    if (this.editor) return;
    const raw = (e.clipboardData || window.clipboardData).getData("text/plain") || "";
    e.preventDefault();
    const lines = raw.replace(/\r\n?/g, "\n").split("\n");
    while (lines.length && !lines[lines.length - 1].trim()) lines.pop();
    let filled = 0; let outside = 0;
    lines.forEach((line, dr) => {
      const values = line.includes("\t") ? line.split("\t") : line.trim().split(/[\s;,]+/);
      values.forEach((v, dc) => {
        const r = this.active.row + dr; const c = this.active.col + dc;
        if (r >= this.positions.length || c >= this.positions[0].length) { if (v.trim()) outside += 1; return; }
        const cell = this.positions[r][c];
        const s = v.trim();
        if (!s) return;
        if (cell.startsWith("e|")) this.edit(cell, s);
        else this.edit(cell, /^-?\d+$/.test(s) ? parseInt(s, 10) : s);
        filled += 1;
      });
    });
    this.say(this.t(outside ? "pasted_outside" : "pasted", { n: filled, outside }));
  }

  // ------------------------------------------------------------------------------- the register

  renderRegister() {
    const d = this.data;
    const field = (name, label, node) => el("label", { class: "fe-field" }, el("span", {}, label), node);
    const select = (name, options, placeholder) => {
      const s = el("select", { name, "data-field": name });
      if (placeholder !== null) s.append(el("option", { value: "" }, placeholder));
      for (const [value, label] of options) s.append(el("option", { value }, label));
      return s;
    };
    this.inputs = {
      // maxlength = LIMITS["focas.participant.*"] in assessments/text.py
      code: el("input", { name: "code", "data-field": "code", maxlength: "40", autocomplete: "off" }),
      full_name: el("input", { name: "full_name", "data-field": "full_name", maxlength: "200", autocomplete: "off" }),
      sex: select("sex", d.choices.sex, this.t("choose")),
      indigenous: select("indigenous", d.choices.indigenous, null),
      role: select("role", d.choices.role, null),
      organisation: el("input", { name: "organisation", "data-field": "organisation", maxlength: "200", autocomplete: "off" }),
    };
    this.inputs.indigenous.value = "undisclosed";
    this.inputs.role.value = "official";
    // what is half typed into the form stays in the journal too (a reload or a remount gives it back)
    const draft = this.journal.state.draft || {};
    for (const [k, node] of Object.entries(this.inputs)) {
      if (draft[k] !== undefined) node.value = draft[k];
      const keep = () => {
        this.journal.state.draft = Object.fromEntries(Object.entries(this.inputs).map(([f, n]) => [f, n.value]));
        this.journal.save();
      };
      node.addEventListener("input", keep);
      node.addEventListener("change", keep);
      node.addEventListener("focus", () => this.keepPlace());
    }
    const add = el("button", { type: "submit", class: "fe-add" }, this.t("add"));
    const form = el("form", { class: "fe-register", "aria-label": this.t("register_label") },
      el("div", { class: "fe-fields" },
        field("code", this.t("code"), this.inputs.code), field("full_name", this.t("name"), this.inputs.full_name),
        field("sex", this.t("sex"), this.inputs.sex), field("indigenous", this.t("indigenous"), this.inputs.indigenous),
        field("role", this.t("role"), this.inputs.role), field("organisation", this.t("organisation"), this.inputs.organisation),
        add));
    form.addEventListener("submit", (e) => { e.preventDefault(); this.addPerson(); });
    for (const node of Object.values(this.inputs)) {
      node.disabled = !d.editable;
      if (node.tagName === "SELECT") node.addEventListener("keydown", (e) => this.pickByLetter(e, node));
      node.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); this.addPerson(); } });
    }
    add.disabled = !d.editable;
    this.queueList = el("ul", { class: "fe-queue", "aria-label": this.t("queue_label") });
    this.wrap.append(form, this.statusLine, this.sayLine, this.queueList,
      el("div", { class: "fe-hint" }, this.t("keys_register")));
    this.drawQueue();
  }

  // ----------------------------------------------------------------------- the QSIP questionnaire

  renderQuestionnaire() {
    const d = this.data;
    const [lo, hi] = d.scale;
    const select = (name, options, placeholder, value) => {
      const node = el("select", { name, "data-field": name });
      if (placeholder !== null) node.append(el("option", { value: "" }, placeholder));
      for (const [v, label] of options) node.append(el("option", { value: v }, label));
      if (value !== undefined) node.value = value;
      return node;
    };
    const field = (label, node) => el("label", { class: "fe-field" }, el("span", {}, label), node);
    this.inputs = {
      respondent_type: select("respondent_type", d.choices.respondent_type, this.t("choose")),
      sex: select("sex", d.choices.sex, null, "undisclosed"),
      indigenous: select("indigenous", d.choices.indigenous, null, "undisclosed"),
      // maxlength = LIMITS["qsip.respondent.*"] in assessments/text.py
      locality: el("input", { name: "locality", "data-field": "locality", maxlength: "200", autocomplete: "off" }),
      code: el("input", { name: "code", "data-field": "code", maxlength: "40", autocomplete: "off" }),
    };
    this.boxes = [];
    const groups = [];
    for (const dim of d.dimensions) {
      const row = el("div", { class: "fe-fields" });
      for (const item of dim.items) {
        const box = el("input", { class: "fe-box", "data-field": `item:${item.code}`, "data-item": item.code, maxlength: "1",
          inputmode: "numeric", autocomplete: "off", "aria-label": `${item.code} · ${item.text}`, title: item.text,
          placeholder: `${lo}–${hi}` });
        this.boxes.push(box);
        this.inputs[`item:${item.code}`] = box;
        row.append(el("label", { class: "fe-field fe-item" }, el("span", { title: item.text }, `${item.code} · ${item.text}`), box));
      }
      groups.push(el("fieldset", { class: "fe-dim" }, el("legend", {}, dim.name), row));
    }
    const add = el("button", { type: "submit", class: "fe-add" }, this.t("add"));
    const form = el("form", { class: "fe-register fe-questionnaire", "aria-label": this.t("q_label") },
      el("div", { class: "fe-fields" }, field(this.t("q_type"), this.inputs.respondent_type),
        field(this.t("sex"), this.inputs.sex), field(this.t("indigenous"), this.inputs.indigenous),
        field(this.t("q_locality"), this.inputs.locality), field(this.t("q_code"), this.inputs.code)),
      ...groups, add);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.addQuestionnaire(); });
    const draft = this.journal.state.draft || {};
    const keep = () => {
      this.journal.state.draft = Object.fromEntries(Object.entries(this.inputs).map(([f, n]) => [f, n.value]));
      this.journal.save();
    };
    for (const [k, node] of Object.entries(this.inputs)) {
      if (draft[k] !== undefined) node.value = draft[k];
      node.disabled = !d.editable;
      node.addEventListener("input", keep);
      node.addEventListener("change", keep);
      node.addEventListener("focus", () => this.keepPlace());
      if (node.tagName === "SELECT") node.addEventListener("keydown", (e) => this.pickByLetter(e, node));
      node.addEventListener("keydown", (e) => {
        if (e.key === "Enter") { e.preventDefault(); this.addQuestionnaire(); }
      });
    }
    this.boxes.forEach((box, i) => box.addEventListener("keydown", (e) => {
      if (/^[0-9]$/.test(e.key)) {
        e.preventDefault();
        const v = parseInt(e.key, 10);
        if (v < lo || v > hi) { this.say(this.t("off_scale", { value: v, min: lo, max: hi })); return; }
        box.value = e.key;
        keep();
        this.say("");
        if (this.boxes[i + 1]) this.boxes[i + 1].focus(); else add.focus();
      } else if (e.key === "Backspace" && !box.value && this.boxes[i - 1]) {
        e.preventDefault();
        this.boxes[i - 1].value = "";
        this.boxes[i - 1].focus();
        keep();
      } else if (e.key.length === 1 && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        this.say(this.t("digits_only", { min: lo, max: hi }));
      }
    }));
    add.disabled = !d.editable;
    this.queueList = el("ul", { class: "fe-queue", "aria-label": this.t("queue_label") });
    this.wrap.append(form, this.statusLine, this.sayLine, this.queueList, el("div", { class: "fe-hint" }, this.t("keys_questionnaire")));
    this.drawQueue();
  }

  addQuestionnaire() {
    if (!this.data.editable) { this.say(this.t("readonly")); return; }
    const v = { ratings: {} };
    for (const k of ["respondent_type", "sex", "indigenous", "locality", "code"]) v[k] = this.inputs[k].value.trim();
    for (const box of this.boxes) if (box.value) v.ratings[box.dataset.item] = parseInt(box.value, 10);
    if (!v.respondent_type) { this.say(this.t("need_type")); this.inputs.respondent_type.focus(); return; }
    if (!Object.keys(v.ratings).length) { this.say(this.t("need_rating")); this.boxes[0].focus(); return; }
    const cell = `r|${uuid4()}`;
    const n = this.journal.state.order.length + this.savedPeople.length + 1;
    const label = [this.data.choices.respondent_type.find(([x]) => x === v.respondent_type)[1], v.code, v.locality]
      .filter(Boolean).join(" · ");
    this.journal.state.order.push(cell);
    this.journal.set(cell, { v, x: null, st: "pending", at: Date.now(), label: label || String(n) });
    for (const box of this.boxes) box.value = "";
    this.inputs.code.value = "";
    this.journal.state.draft = { respondent_type: v.respondent_type, sex: "undisclosed", indigenous: "undisclosed",
      locality: v.locality };
    this.inputs.sex.value = "undisclosed";
    this.inputs.indigenous.value = "undisclosed";
    this.journal.save();
    this.say(this.t("queued", { who: label }));
    this.inputs.respondent_type.focus();
    this.drawQueue();
    this.flush();
    this.status();
  }

  // a letter picks the next option starting with it (M = Mujer, H = Hombre, P = Prefiere no decir), as typed
  pickByLetter(e, node) {
    if (e.key.length !== 1 || e.ctrlKey || e.metaKey || e.altKey || !/\p{L}/u.test(e.key)) return;
    const letter = e.key.toLocaleLowerCase();
    const options = Array.from(node.options).filter((o) => o.value);
    const matches = options.filter((o) => o.text.toLocaleLowerCase().startsWith(letter));
    if (!matches.length) return;
    e.preventDefault();
    const at = matches.findIndex((o) => o.value === node.value);
    node.value = matches[(at + 1) % matches.length].value;
    node.dispatchEvent(new Event("change", { bubbles: true }));
  }

  addPerson() {
    const v = {};
    for (const [k, node] of Object.entries(this.inputs)) v[k] = node.value.trim();
    if (!v.code && !v.full_name) { this.say(this.t("need_name_or_code")); this.inputs.full_name.focus(); return; }
    if (!v.sex) { this.say(this.t("need_sex")); this.inputs.sex.focus(); return; }
    const cell = `p|${uuid4()}`;
    this.journal.state.order.push(cell);
    this.journal.set(cell, { v, x: null, st: "pending", at: Date.now(), label: v.full_name || v.code });
    for (const k of ["code", "full_name", "organisation"]) this.inputs[k].value = "";
    this.inputs.sex.value = "";
    this.journal.state.draft = {};
    this.journal.save();
    this.say(this.t("queued", { who: v.full_name || v.code }));
    this.inputs.code.focus();
    this.drawQueue();
    this.flush();
    this.status();
  }

  drawQueue() {
    if (!this.queueList) return;
    const items = [];
    for (const cell of this.journal.state.order) {
      const e = this.journal.get(cell);
      if (!e) continue;
      const state = e.st === "refused" ? "refused" : "waiting";
      const li = el("li", { class: `fe-q fe-q-${state}`, "data-state": state },
        `${e.label} · ${state === "refused" ? e.m : this.t("waiting")}`);
      if (state === "refused") {
        li.append(" ", el("button", { type: "button", class: "fe-mini", onclick: () => { this.journal.drop(cell); this.drawQueue(); this.status(); } }, this.t("discard")));
      }
      items.push(li);
    }
    for (const p of this.savedPeople.slice(0, 5)) items.push(el("li", { class: "fe-q fe-q-saved", "data-state": "saved" }, `✓ ${p.code || ""} · ${p.label}`));
    this.queueList.replaceChildren(...items);
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue, setStateValue } = component;
  if (!data) return;
  let surface = parentElement.__focasEntry;
  if (!surface) {
    surface = new EntrySurface(parentElement);
    parentElement.__focasEntry = surface;
  }
  surface.start();
  surface.update(data, setTriggerValue, setStateValue);
  // Streamlit calls this when the element leaves the page: a surface no longer shown sends nothing
  return () => surface.stop();
}
