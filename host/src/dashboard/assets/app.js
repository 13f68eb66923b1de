// The dashboard's pages: plain DOM, no framework, no CDN. Everything shown comes from /api/ and
// is inserted as text (never as HTML). Live updates come from one EventSource per page.
"use strict";
const ao = (() => {
  const token = document.querySelector('meta[name="ao-token"]').content;
  const attention = (st) =>
    ["needs_input", "stuck", "errored", "killed"].includes(st) ? 0 :
    ["ci_failed", "changes_requested"].includes(st) ? 1 :
    ["mergeable", "approved"].includes(st) ? 2 :
    ["merged", "done", "cleanup", "terminated"].includes(st) ? 4 : 3;
  const ago = (iso) => {
    if (!iso) return "-";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 60 ? s + "s" : s < 3600 ? Math.round(s / 60) + "m" : Math.round(s / 3600) + "h";
  };
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const get = async (path) => {
    const r = await fetch(path, { headers: { "X-AO-Token": token } });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.status);
    return body;
  };
  const post = async (path, body) => {
    const r = await fetch(path, {
      method: "POST",
      headers: { "X-AO-Token": token, "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const out = await r.json();
    if (!r.ok) throw new Error(out.error || r.status);
    return out.data;
  };
  // One stream per page; `onEvent` gets each event, parsed. `window.aoEvents` counts them (the
  // latency benchmark reads it).
  const live = (onEvent) => {
    window.aoEvents = [];
    const src = new EventSource("/api/events/stream");
    const mark = document.getElementById("live");
    src.onopen = () => { mark.textContent = "live"; };
    src.onerror = () => { mark.textContent = "reconnecting…"; };
    src.addEventListener("ao", (m) => {
      const e = JSON.parse(m.data);
      window.aoEvents.push({ received: Date.now(), event: e });
      onEvent(e);
    });
    src.addEventListener("lagged", () => onEvent(null));
  };
  const debounce = (f, ms) => { let t; return () => { clearTimeout(t); t = setTimeout(f, ms); }; };
  const prText = (s) => {
    if (!s.pr) return "-";
    const n = s.pr.split("/").pop();
    const p = s.prState;
    return p ? `#${n} ci:${p.ci} review:${p.review}` : `#${n}`;
  };

  // What the fleet page shows now: status per session id (for the summary and re-sorting).
  const shown = new Map();

  // Tokens (cache included) and price, as `ao status` shows them.
  function costText(c) {
    if (!c) return "-";
    const t = (c.input_tokens || 0) + (c.output_tokens || 0) + (c.cache_read_tokens || 0) + (c.cache_write_tokens || 0);
    const tok = t >= 1e6 ? (t / 1e6).toFixed(1) + "M" : t >= 1e3 ? (t / 1e3).toFixed(1) + "k" : String(t);
    return tok + " tok" + (c.usd != null ? " $" + Number(c.usd).toFixed(2) : "");
  }

  function fleetRow(s) {
    const a = attention(s.status);
    const r = el("tr", null, "a" + a);
    r.id = "s-" + s.id;
    const link = el("a", s.id); link.href = "/sessions/" + encodeURIComponent(s.id);
    const c = el("td"); c.append(link); r.append(c);
    const st = el("td", s.status, "st"); st.title = s.statusReason || ""; r.append(st);
    r.append(el("td", s.activity ? `${s.activity.state} ${ago(s.activity.at)}` : "-"));
    const pr = el("td");
    if (s.pr) { const l = el("a", prText(s)); l.href = s.pr; pr.append(l); } else pr.textContent = "-";
    r.append(pr);
    r.append(el("td", costText(s.cost)));
    r.append(el("td", s.summary || ""));
    return r;
  }

  function fleetSummary() {
    let urgent = 0;
    for (const st of shown.values()) if (attention(st) === 0) urgent++;
    document.getElementById("summary").textContent =
      `${shown.size} session(s)` + (urgent ? ` · ${urgent} need you` : "");
  }

  async function renderFleet() {
    const { data, meta } = await get("/api/sessions");
    const root = document.getElementById("fleet");
    root.replaceChildren();
    shown.clear();
    for (const p of meta.projects) {
      const mine = data.filter((s) => s.projectId === p.id)
        .sort((a, b) => attention(a.status) - attention(b.status) || a.id.localeCompare(b.id, undefined, { numeric: true }));
      root.append(el("h2", `${p.id}${p.repo ? " (" + p.repo + ")" : ""}`));
      const t = el("table");
      const head = el("tr");
      for (const h of ["session", "status", "activity", "PR", "cost", "summary"]) head.append(el("th", h));
      t.append(head);
      if (!mine.length) { const r = el("tr"); r.append(el("td", "no sessions", "muted")); t.append(r); }
      for (const s of mine) {
        shown.set(s.id, s.status);
        t.append(fleetRow(s));
      }
      root.append(t);
    }
    for (const c of meta.corrupt || []) {
      root.append(el("p", `cannot read ${c.path}: ${c.reason}`, "warn"));
    }
    fleetSummary();
  }

  // One session changed: replace its row in place; a new session, or one whose attention
  // changed (it moves), re-renders the list. A 500-session page stays responsive this way.
  async function updateRow(id) {
    const { data: s } = await get("/api/sessions/" + encodeURIComponent(id) + "?brief");
    const old = document.getElementById("s-" + id);
    if (!old || attention(shown.get(id)) !== attention(s.status)) return renderFleet();
    shown.set(id, s.status);
    old.replaceWith(fleetRow(s));
    fleetSummary();
  }

  function addEvent(tbody, e, withSession) {
    const r = el("tr");
    r.append(el("td", new Date(e.ts).toLocaleTimeString(), "muted"));
    if (withSession) r.append(el("td", e.session || "ao"));
    r.append(el("td", e.type));
    r.append(el("td", e.message));
    tbody.prepend(r);
    while (tbody.children.length > 50) tbody.lastChild.remove();
  }

  function fleetPage() {
    const refresh = debounce(() => renderFleet().catch(console.error), 50);
    renderFleet().catch((e) => { document.getElementById("summary").textContent = e.message; });
    const events = document.getElementById("events");
    live((e) => {
      if (!e) return refresh();
      addEvent(events, e, true);
      if (e.session) updateRow(e.session).catch(console.error); else refresh();
    });
    document.getElementById("spawn").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const issue = document.getElementById("issue");
      try { await post("/api/spawn", { issue: issue.value }); issue.value = ""; }
      catch (e) { alert(e.message); }
    });
  }

  async function renderSession(id) {
    const { data: s } = await get("/api/sessions/" + encodeURIComponent(id));
    document.getElementById("title").textContent = `${s.id} · ${s.status}`;
    const facts = document.getElementById("facts");
    facts.replaceChildren();
    const row = (k, v, href) => {
      const r = el("tr"); r.append(el("th", k));
      const c = el("td");
      if (href) { const a = el("a", v); a.href = href; c.append(a); } else c.textContent = v ?? "-";
      r.append(c); facts.append(r);
    };
    row("status", `${s.status} — ${s.statusReason || ""}`);
    row("activity", s.activity ? `${s.activity.state} (${s.activity.source}) ${ago(s.activity.at)} ago` : "-");
    row("branch", s.branch);
    row("issue", s.issueId);
    if (s.pr) row("PR", prText(s), s.pr); else row("PR", "-");
    if (s.prState) row("CI / review", `${s.prState.ci} / ${s.prState.review}${s.prState.unresolvedThreads ? ` (${s.prState.unresolvedThreads} unresolved)` : ""}`);
    row("cost", costText(s.cost));
    row("summary", s.summary);
    showDialog(s);
    const tl = document.getElementById("timeline");
    tl.replaceChildren();
    for (const e of s.events) addEvent(tl, e, false);
    document.getElementById("prompt").textContent = s.prompt || "(none)";
  }

  // The dialog the agent shows, with one button per option: the human answers from here
  // (the fingerprint makes ao refuse if the screen shows another dialog by then).
  function showDialog(s) {
    const box = document.getElementById("dialog");
    const d = s.activity && s.status === "needs_input" ? s.activity.dialog : null;
    box.hidden = !d;
    if (!d) return;
    document.getElementById("question").textContent = d.question;
    const choices = document.getElementById("choices");
    choices.replaceChildren();
    const options = d.options.length ? d.options : ["1. Yes", "2. No"];
    options.forEach((label, i) => {
      const b = el("button", label);
      b.dataset.choice = String(i + 1);
      b.addEventListener("click", async () => {
        const result = document.getElementById("result");
        try {
          const out = await post(`/api/sessions/${encodeURIComponent(s.id)}/answer`,
            { choice: String(i + 1), fingerprint: d.fingerprint });
          result.textContent = out.evidence;
        } catch (e) { result.textContent = e.message; }
      });
      choices.append(b, " ");
    });
  }

  function sessionPage() {
    const id = document.querySelector('meta[name="ao-session"]').content;
    const refresh = debounce(() => renderSession(id).catch(console.error), 50);
    renderSession(id).catch((e) => { document.getElementById("title").textContent = e.message; });
    live((e) => { if (!e || e.session === id) refresh(); });
    const result = document.getElementById("result");
    document.getElementById("send").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const m = document.getElementById("message");
      try {
        const out = await post(`/api/sessions/${encodeURIComponent(id)}/send`, { message: m.value });
        result.textContent = out.acknowledged ? "the agent took it" : out.evidence;
        m.value = "";
      } catch (e) { result.textContent = e.message; }
    });
    for (const b of document.querySelectorAll("button[data-act]")) {
      b.addEventListener("click", async () => {
        try {
          const out = await post(`/api/sessions/${encodeURIComponent(id)}/${b.dataset.act}`);
          result.textContent = out.detail || out.status || b.dataset.act + ": done";
          refresh();
        } catch (e) { result.textContent = e.message; }
      });
    }
  }

  // The live terminal: xterm.js over a WebSocket to a pty attached to the session.
  function terminalPage() {
    const id = document.querySelector('meta[name="ao-session"]').content;
    // xterm.js's bundle puts its exports on the global object; the fit addon nests them.
    const term = new Terminal({ cursorBlink: true, convertEol: false, scrollback: 5000 });
    const fit = new FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(document.getElementById("term"));
    fit.fit();
    const mark = document.getElementById("live");
    const ws = new WebSocket(`ws://${location.host}/api/sessions/${encodeURIComponent(id)}/terminal/ws`);
    ws.binaryType = "arraybuffer";
    const resize = () => {
      fit.fit();
      if (ws.readyState === 1) ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    };
    ws.onopen = () => { mark.textContent = "attached"; resize(); term.focus(); };
    ws.onclose = () => { mark.textContent = "detached"; };
    ws.onmessage = (m) => term.write(typeof m.data === "string" ? m.data : new Uint8Array(m.data));
    term.onData((d) => { if (ws.readyState === 1) ws.send(JSON.stringify({ type: "input", data: d })); });
    window.addEventListener("resize", resize);
    window.aoTerm = term;
  }

  return { fleetPage, sessionPage, terminalPage };
})();
