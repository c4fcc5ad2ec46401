// The console's grid, edited in place. Served from the binary under the console's strict
// Content-Security-Policy (no inline script). Every rule stays with the API: a cell's text is
// sent as typed (a number, or a level name in any case), with the session's anti-forgery
// token and the row's ETag, and whatever the API answers is shown at the cell.
"use strict";

(function () {
  const table = document.querySelector("table[data-grid]");
  if (!table) return;
  const editable = table.dataset.editable === "true";
  const levels = JSON.parse(table.dataset.levels || "[]");
  const csrf = document.querySelector("input[name=csrf_token]");
  const skillIds = Array.from(table.querySelectorAll("thead th[data-skill-id]"), (th) => th.dataset.skillId);
  const rows = Array.from(table.querySelectorAll("tbody tr[data-agent-id]"));

  // The page carries the ids once per row and column (it stays small); each cell gets both
  // here, and joins the keyboard's walk through the grid.
  rows.forEach((tr) => {
    tr.querySelectorAll("td").forEach((td, i) => {
      td.dataset.agentId = tr.dataset.agentId;
      td.dataset.skillId = skillIds[i];
      td.tabIndex = -1;
    });
  });
  const first = table.querySelector("tbody td");
  if (first) first.tabIndex = 0;

  // The class of a proficiency's colour, as the server picks it (`grid_view::level_of`).
  function levelClass(p) {
    const n = levels.length;
    const rank = levels.filter((l) => l[1] <= p).length;
    if (rank === 0) return "l0";
    if (n <= 5) return "l" + rank;
    return "l" + (1 + Math.floor(((rank - 1) * 4) / (n - 1)));
  }

  // A cell showing `a` (an assignment of the API's answer, or nothing).
  function show(td, a) {
    td.textContent = "";
    td.className = "";
    if (!a) return;
    td.className = levelClass(a.proficiency);
    td.append(String(a.proficiency));
    if (a.level) {
      const small = document.createElement("small");
      small.textContent = a.level;
      td.append(" ", small);
    }
  }

  function note(td, kind, code, text) {
    const p = document.createElement("span");
    p.className = kind === "error" ? "cell-error" : "cell-warning";
    p.setAttribute("role", "alert");
    p.dataset[kind === "error" ? "errorCode" : "warningCode"] = code;
    p.textContent = text;
    td.append(p);
  }

  function said(entry) {
    return entry.hint ? entry.detail + " (" + entry.hint + ")" : entry.detail;
  }

  function move(td, dRow, dCol) {
    const tr = td.parentElement;
    const r = rows.indexOf(tr) + dRow;
    const c = Array.prototype.indexOf.call(tr.querySelectorAll("td"), td) + dCol;
    if (r < 0 || r >= rows.length) return;
    const cells = rows[r].querySelectorAll("td");
    if (c < 0 || c >= cells.length) return;
    focus(cells[c]);
  }

  function focus(td) {
    table.querySelectorAll("tbody td[tabindex='0']").forEach((x) => (x.tabIndex = -1));
    td.tabIndex = 0;
    td.focus();
  }

  function path(td) {
    return "/api/v2/agents/users/" + td.dataset.agentId + "/skills/" + td.dataset.skillId;
  }

  // The cell's current value, read back after someone else's change.
  async function reload(td) {
    const r = await fetch("/api/v2/agents/users/" + td.dataset.agentId + "/skills", {
      credentials: "same-origin",
    });
    const body = await r.json();
    if (!r.ok) return null;
    td.parentElement.dataset.etag = r.headers.get("etag") || '"' + body.version + '"';
    return body.skills.find((a) => a.skillId === td.dataset.skillId) || null;
  }

  function edit(td) {
    if (td.querySelector("input")) return;
    const before = Array.from(td.childNodes, (n) => n.cloneNode(true));
    const beforeClass = td.className;
    const current = td.firstChild && td.firstChild.nodeType === 3 ? td.firstChild.textContent.trim() : "";
    td.textContent = "";
    const input = document.createElement("input");
    input.type = "text";
    input.value = current;
    input.setAttribute("aria-label", "Proficiency: a number or a level name");
    td.append(input);
    input.focus();
    input.select();
    let busy = false;

    function cancel() {
      td.textContent = "";
      td.className = beforeClass;
      before.forEach((n) => td.append(n));
      focus(td);
    }

    async function save() {
      if (busy) return;
      busy = true;
      td.querySelectorAll(".cell-error,.cell-warning").forEach((n) => n.remove());
      const text = input.value.trim();
      const proficiency = /^[+-]?\d+$/.test(text) ? Number(text) : text;
      let r;
      let body = null;
      try {
        r = await fetch(path(td), {
          method: "PUT",
          credentials: "same-origin",
          headers: {
            "content-type": "application/json",
            "x-csrf-token": csrf ? csrf.value : "",
            "if-match": td.parentElement.dataset.etag,
          },
          body: JSON.stringify({ proficiency }),
        });
        body = await r.json().catch(() => null);
      } catch (e) {
        busy = false;
        note(td, "error", "network", "The server could not be reached: nothing was saved.");
        return;
      }
      busy = false;
      if (r.ok) {
        td.parentElement.dataset.etag = r.headers.get("etag") || '"' + body.version + '"';
        show(td, body.skills.find((a) => a.skillId === td.dataset.skillId));
        focus(td);
        const w = (body.warnings || [])[0];
        if (w) note(td, "warning", w.code, said(w));
        return;
      }
      if (r.status === 412) {
        const now = await reload(td);
        show(td, now);
        focus(td);
        note(td, "error", (body && body.code) || "precondition_failed",
          "Someone else changed this agent meanwhile: nothing was saved, and this is the current value.");
        return;
      }
      const entry = body && body.errors && body.errors[0];
      if (entry) {
        note(td, "error", entry.code, said(entry));
      } else {
        note(td, "error", (body && body.code) || String(r.status),
          (body && body.detail) || "The change was refused.");
      }
      input.focus();
    }

    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        save();
      } else if (e.key === "Escape") {
        e.preventDefault();
        cancel();
      }
      e.stopPropagation();
    });
  }

  table.addEventListener("keydown", (e) => {
    const td = e.target.closest && e.target.closest("tbody td");
    if (!td || e.target !== td) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[e.key]) {
      e.preventDefault();
      move(td, moves[e.key][0], moves[e.key][1]);
    } else if (e.key === "Enter" && editable) {
      e.preventDefault();
      edit(td);
    }
  });
  table.addEventListener("click", (e) => {
    const td = e.target.closest && e.target.closest("tbody td");
    if (td && e.target === td) focus(td);
  });
})();
