// The grid's bulk changes: select agents (a row's box, the page's box, or every agent the
// filter matches, from /console/grid/agent-ids), then assign a skill at a level, change the
// level of a skill its holders have, or remove a skill. The change is one request of the
// API's bulk route: first a dry run, whose diff is shown per agent, then the same request for
// real, with an idempotency key, whose summary is shown. Every rule stays with the API: the
// level is sent as typed, and what the API answers is shown with its own words.
"use strict";

(function () {
  const panel = document.querySelector("[data-bulk-panel]");
  const table = document.querySelector("table[data-grid]");
  if (!panel || !table) return;
  const csrf = document.querySelector("input[name=csrf_token]");
  const pageBox = table.querySelector("input[data-select-page]");
  const boxes = Array.from(table.querySelectorAll("input[data-select-agent]"));
  const count = panel.querySelector("[data-selection-count]");
  const form = panel.querySelector("form[data-form=bulk]");
  const action = form.querySelector("#bulk-action");
  const skill = form.querySelector("#bulk-skill");
  const level = form.querySelector("#bulk-level");
  const levelField = form.querySelector("[data-bulk-level-field]");
  const message = panel.querySelector("[data-bulk-message]");
  const result = panel.querySelector("[data-bulk-result]");
  // The skills to choose from are the grid's columns (the page sends them once, in its head).
  for (const th of table.querySelectorAll("thead th[data-skill-id]")) {
    skill.add(new Option(th.textContent, th.dataset.skillId));
  }

  // The selected agents, id → name, in the order they were selected.
  const selected = new Map();
  // The request the preview showed, and the key its write is sent with.
  let previewed = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "scope" || k === "type") {
        e.setAttribute(k, v);
      } else {
        e[k] = v;
      }
    });
    children.forEach((c) => e.append(c));
    return e;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function said(entry) {
    return entry.hint ? entry.detail + " (" + entry.hint + ")" : entry.detail;
  }

  function forget() {
    previewed = null;
    result.textContent = "";
  }

  function refreshCount() {
    count.textContent = selected.size === 0 ? "No agent selected." : plural(selected.size, "agent", "agents") + " selected.";
    count.dataset.selected = String(selected.size);
    const on = boxes.filter((b) => b.checked).length;
    if (pageBox) {
      pageBox.checked = boxes.length > 0 && on === boxes.length;
      pageBox.indeterminate = on > 0 && on < boxes.length;
    }
  }

  function pick(box, on) {
    box.checked = on;
    if (on) selected.set(box.value, box.dataset.name);
    else selected.delete(box.value);
  }

  boxes.forEach((b) =>
    b.addEventListener("change", () => {
      pick(b, b.checked);
      forget();
      refreshCount();
    })
  );
  if (pageBox) {
    pageBox.addEventListener("change", () => {
      boxes.forEach((b) => pick(b, pageBox.checked));
      forget();
      refreshCount();
    });
  }

  // A problem answered by the API (or the console's route), with its own words.
  function problem(body, status) {
    message.textContent = "";
    message.className = "error";
    const code = (body && body.code) || String(status);
    const head = el("p", { "data-error-code": code }, (body && body.detail) || "The request was refused (" + status + ").");
    message.append(head);
    const entries = (body && body.errors) || [];
    if (entries.length) {
      const list = el("ul");
      entries.slice(0, 20).forEach((e) => list.append(el("li", { "data-error-code": e.code }, said(e))));
      if (entries.length > 20) list.append(el("li", {}, plural(entries.length - 20, "more problem", "more problems") + "."));
      message.append(list);
    }
  }

  function tell(text) {
    message.className = "notice";
    message.textContent = text;
  }

  async function call(url, init) {
    try {
      const r = await fetch(url, Object.assign({ credentials: "same-origin" }, init || {}));
      const body = await r.json().catch(() => null);
      return { r, body };
    } catch (e) {
      return { r: null, body: { code: "network", detail: "The server could not be reached: nothing was changed." } };
    }
  }

  panel.querySelector("[data-select-matching]").addEventListener("click", async () => {
    forget();
    tell("Finding every agent matching this filter…");
    const { r, body } = await call("/console/grid/agent-ids" + window.location.search);
    if (!r || !r.ok) return problem(body, r ? r.status : 0);
    selected.clear();
    body.agents.forEach((a) => selected.set(a.id, a.name));
    boxes.forEach((b) => (b.checked = selected.has(b.value)));
    refreshCount();
    tell("All " + plural(body.count, "agent", "agents") + " matching this filter are selected.");
  });
  panel.querySelector("[data-select-none]").addEventListener("click", () => {
    selected.clear();
    boxes.forEach((b) => (b.checked = false));
    forget();
    message.textContent = "";
    message.className = "";
    refreshCount();
  });

  function showLevel() {
    levelField.hidden = action.value === "remove";
  }
  action.addEventListener("change", () => {
    showLevel();
    forget();
  });
  skill.addEventListener("change", forget);
  level.addEventListener("input", forget);
  showLevel();

  // Every holder of a skill, through the API's listing, a page at a time.
  async function holders(skillId) {
    const held = new Set();
    let cursor = null;
    for (;;) {
      const url = "/api/v2/admin/skills/" + skillId + "/agents?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
      const { r, body } = await call(url);
      if (!r || !r.ok) return { failed: { r, body } };
      body.items.forEach((h) => held.add(h.agentId));
      if (!body.nextCursor) return { held };
      cursor = body.nextCursor;
    }
  }

  function key() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "console-bulk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The API's bulk request for the selection, and the agents it leaves out.
  async function request() {
    const skillId = skill.value;
    const text = level.value.trim();
    const assignment = { skillId };
    if (text !== "") assignment.proficiency = /^[+-]?\d+$/.test(text) ? Number(text) : text;
    let ids = Array.from(selected.keys());
    let skipped = [];
    if (action.value === "change") {
      const h = await holders(skillId);
      if (h.failed) return { failed: h.failed };
      skipped = ids.filter((id) => !h.held.has(id));
      ids = ids.filter((id) => h.held.has(id));
    }
    const items = ids.map((agentId) =>
      action.value === "remove" ? { agentId, remove: [skillId] } : { agentId, skills: [assignment] }
    );
    return { body: { mode: "merge", atomic: false, items }, skipped, skillId };
  }

  function assignmentText(a) {
    if (!a) return "—";
    return a.level ? a.proficiency + " " + a.level : String(a.proficiency);
  }

  // One agent's change of the skill: before and after.
  function diff(changes, skillId) {
    const c = changes || {};
    const added = (c.added || []).find((a) => a.skillId === skillId);
    if (added) return { kind: "added", before: null, after: added };
    const updated = (c.updated || []).find((u) => u.skillId === skillId);
    if (updated) return { kind: "updated", before: updated.before, after: updated.after };
    const removed = (c.removed || []).find((a) => a.skillId === skillId);
    if (removed) return { kind: "removed", before: removed, after: null };
    return { kind: "unchanged", before: null, after: null };
  }

  function skillName(id) {
    const o = Array.from(skill.options).find((x) => x.value === id);
    return o ? o.textContent : id;
  }

  function preview(req, answer) {
    result.textContent = "";
    const results = answer.results || [];
    const wrap = el("div", { "data-bulk-diff": "" });
    const warned = results.filter((x) => (x.warnings || []).length);
    if (warned.length) {
      const list = el("ul", { "data-bulk-warnings": "" });
      warned.forEach((x) =>
        x.warnings.forEach((w) =>
          list.append(el("li", { "data-warning-code": w.code, "data-agent-id": x.agentId }, selected.get(x.agentId) + ": " + said(w)))
        )
      );
      wrap.append(el("h3", {}, "Warnings"), list);
    }
    const failed = results.filter((x) => x.problem).length;
    const changing = results.filter((x) => !x.problem && diff(x.changes, req.skillId).kind !== "unchanged").length;
    wrap.append(
      el(
        "p",
        { "data-bulk-plan": "", "data-changing": String(changing), "data-failing": String(failed) },
        "Preview, nothing written yet: " +
          plural(changing, "agent", "agents") + " would change, " +
          (results.length - changing - failed) + " unchanged, " +
          failed + " refused" +
          (req.skipped.length ? ", " + plural(req.skipped.length, "agent", "agents") + " skipped (not holding " + skillName(req.skillId) + ")" : "") +
          "."
      )
    );
    const tbody = el("tbody");
    results.forEach((x) => {
      const name = selected.get(x.agentId) || x.agentId;
      const tr = el("tr", { "data-bulk-row": "", "data-agent-id": x.agentId });
      tr.append(el("th", { scope: "row" }, name));
      if (x.problem) {
        const entries = (x.problem.errors && x.problem.errors.length) ? x.problem.errors : [x.problem];
        const td = el("td", { "data-status": "error" });
        td.colSpan = 2;
        entries.forEach((e) => td.append(el("span", { "data-error-code": e.code, className: "row-error" }, said(e))));
        tr.append(td, el("td", {}, "refused"));
      } else {
        const d = diff(x.changes, req.skillId);
        tr.dataset.change = d.kind;
        tr.append(
          el("td", { "data-before": "" }, assignmentText(d.before)),
          el("td", { "data-after": "" }, d.kind === "unchanged" ? "(unchanged)" : assignmentText(d.after)),
          el("td", {}, d.kind)
        );
      }
      tbody.append(tr);
    });
    req.skipped.forEach((id) => {
      const tr = el("tr", { "data-bulk-row": "", "data-agent-id": id, "data-change": "skipped" });
      tr.append(el("th", { scope: "row" }, selected.get(id) || id), el("td", {}, "—"), el("td", {}, "—"), el("td", {}, "skipped: does not hold it"));
      tbody.append(tr);
    });
    const t = el(
      "table",
      { className: "list", "data-bulk-table": "" },
      el("caption", {}, "What the change would do to " + skillName(req.skillId) + ", agent by agent"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Agent"), el("th", { scope: "col" }, "Before"), el("th", { scope: "col" }, "After"), el("th", { scope: "col" }, "Change")))
    );
    t.append(tbody);
    // The table scrolls in its box: the box is reachable by the keyboard, and named.
    const box = el("div", { className: "bulk-scroll", role: "region", "aria-label": "The preview, agent by agent" }, t);
    box.tabIndex = 0;
    wrap.append(box);
    const apply = el("button", { type: "button", "data-bulk-apply": "" }, "Apply to " + plural(changing, "agent", "agents"));
    apply.disabled = changing === 0;
    apply.addEventListener("click", () => write(apply));
    wrap.append(apply);
    result.append(wrap);
  }

  async function send(body, dryRun, idempotencyKey) {
    const headers = { "content-type": "application/json", "x-csrf-token": csrf ? csrf.value : "" };
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    return call("/api/v2/agents/skills/bulk" + (dryRun ? "?dryRun=true" : ""), {
      method: "POST",
      headers,
      body: JSON.stringify(body),
    });
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    forget();
    if (selected.size === 0) {
      message.className = "error";
      message.textContent = "Select at least one agent first.";
      return;
    }
    if (!skill.value) {
      message.className = "error";
      message.textContent = "The organization has no active skill to change.";
      return;
    }
    tell("Asking the server what the change would do…");
    const req = await request();
    if (req.failed) return problem(req.failed.body, req.failed.r ? req.failed.r.status : 0);
    if (req.body.items.length === 0) {
      const t = "None of the selected agents holds " + skillName(req.skillId) + ": nothing to change.";
      message.className = "notice";
      message.textContent = t;
      return;
    }
    const { r, body } = await send(req.body, true);
    if (!r || !r.ok) return problem(body, r ? r.status : 0);
    const firstError = (body.results || []).map((x) => x.problem).find(Boolean);
    if (firstError) {
      // The API's words for the first refusal, where the eye lands first.
      problem(firstError.errors && firstError.errors.length ? { code: firstError.code, detail: firstError.detail, errors: [firstError.errors[0]] } : firstError, firstError.status);
    } else {
      message.textContent = "";
      message.className = "";
    }
    previewed = { req, key: key() };
    preview(req, body);
  });

  async function write(button) {
    if (!previewed) return;
    const { req, key: k } = previewed;
    button.disabled = true;
    tell("Applying the change…");
    const { r, body } = await send(req.body, false, k);
    if (!r || !r.ok) {
      button.disabled = false;
      return problem(body, r ? r.status : 0);
    }
    previewed = null;
    const results = body.results || [];
    const changed = results.filter((x) => !x.problem && diff(x.changes, req.skillId).kind !== "unchanged").length;
    const failed = body.summary.failed;
    const unchanged = results.length - changed - failed;
    result.textContent = "";
    message.textContent = "";
    message.className = "";
    const s = body.summary;
    const summary = el(
      "div",
      {
        className: "notice",
        role: "status",
        "data-bulk-summary": "",
        "data-changed": String(changed),
        "data-unchanged": String(unchanged),
        "data-failed": String(failed),
      },
      el("p", {}, "Done: " + plural(changed, "agent", "agents") + " changed, " + unchanged + " unchanged, " + failed + " failed" +
        (req.skipped.length ? ", " + req.skipped.length + " skipped" : "") + "."),
      el("p", {}, "Assignments: " + s.added + " added, " + s.updated + " updated, " + s.removed + " removed.")
    );
    const refused = results.filter((x) => x.problem);
    if (refused.length) {
      const list = el("ul");
      refused.forEach((x) => {
        const e = (x.problem.errors && x.problem.errors[0]) || x.problem;
        list.append(el("li", { "data-error-code": e.code, "data-agent-id": x.agentId }, (selected.get(x.agentId) || x.agentId) + ": " + said(e)));
      });
      summary.append(list);
    }
    result.append(summary);
    await refreshGrid();
  }

  // The page's rows as the server now renders them: each cell's content and colour and each
  // row's ETag copied onto the rows in place (the grid's script keeps its hold on them).
  async function refreshGrid() {
    let html;
    try {
      const r = await fetch(window.location.href, { credentials: "same-origin" });
      if (!r.ok) return;
      html = await r.text();
    } catch (e) {
      return;
    }
    const fresh = new DOMParser().parseFromString(html, "text/html");
    table.querySelectorAll("tbody tr[data-agent-id]").forEach((tr) => {
      const now = fresh.querySelector('table[data-grid] tbody tr[data-agent-id="' + tr.dataset.agentId + '"]');
      if (!now) return;
      tr.dataset.etag = now.dataset.etag;
      const cells = tr.querySelectorAll("td");
      const nowCells = now.querySelectorAll("td");
      if (cells.length !== nowCells.length) return;
      cells.forEach((td, i) => {
        td.className = nowCells[i].className;
        td.innerHTML = nowCells[i].innerHTML;
      });
    });
    table.dataset.refreshed = String(Number(table.dataset.refreshed || "0") + 1);
  }

  refreshCount();
})();
