// The agent page's Undo buttons. Served from the binary under the console's strict
// Content-Security-Policy (no inline script). An undo is an ordinary write through the API's
// routes for one skill, with the session's anti-forgery token and the agent's current ETag:
// the API checks, writes and audits it as any change. This script only refuses to undo a
// change the skill has moved on from (its value is no longer the change's `after`), and the
// ETag keeps anything written meanwhile from being overwritten.
"use strict";

(function () {
  const table = document.querySelector("table[data-history]");
  if (!table || table.dataset.editable !== "true") return;
  const agent = table.dataset.agentId;
  const csrf = document.querySelector("input[name=csrf_token]");
  const base = "/api/v2/agents/users/" + agent + "/skills";

  // An assignment's values as the row carries them, for comparison.
  function values(a) {
    if (!a) return null;
    return { proficiency: a.proficiency, effectiveDate: a.effectiveDate, expirationDate: a.expirationDate };
  }

  function same(a, b) {
    return JSON.stringify(values(a)) === JSON.stringify(values(b));
  }

  function note(tr, code, text) {
    tr.querySelectorAll(".row-error").forEach((n) => n.remove());
    const p = document.createElement("span");
    p.className = "row-error";
    p.setAttribute("role", "alert");
    p.dataset.errorCode = code;
    p.textContent = text;
    tr.lastElementChild.append(p);
  }

  function refusal(r, body) {
    const entry = body && body.errors && body.errors[0];
    if (entry) return [entry.code, entry.hint ? entry.detail + " (" + entry.hint + ")" : entry.detail];
    return [(body && body.code) || String(r.status), (body && body.detail) || "The undo was refused."];
  }

  async function undo(tr, button) {
    const skill = tr.dataset.skillId;
    const before = JSON.parse(tr.dataset.before);
    const after = JSON.parse(tr.dataset.after);
    button.disabled = true;
    try {
      const now = await fetch(base, { credentials: "same-origin" });
      const set = await now.json().catch(() => null);
      if (!now.ok) {
        const [code, text] = refusal(now, set);
        note(tr, code, text);
        return;
      }
      const current = set.skills.find((a) => a.skillId === skill) || null;
      if (!same(current, after)) {
        note(tr, "value_moved_on",
          "The skill has changed since this change (its current value differs): nothing was undone.");
        return;
      }
      const headers = {
        "x-csrf-token": csrf ? csrf.value : "",
        "if-match": now.headers.get("etag") || '"' + set.version + '"',
      };
      let r;
      if (before) {
        headers["content-type"] = "application/json";
        r = await fetch(base + "/" + skill, {
          method: "PUT", credentials: "same-origin", headers, body: JSON.stringify(before),
        });
      } else {
        r = await fetch(base + "/" + skill, { method: "DELETE", credentials: "same-origin", headers });
      }
      if (r.ok) {
        location.assign(location.pathname + "?undone=" + encodeURIComponent(tr.dataset.entryId));
        return;
      }
      const body = await r.json().catch(() => null);
      if (r.status === 412) {
        note(tr, "precondition_failed", "Someone else changed this agent meanwhile: nothing was undone.");
      } else {
        const [code, text] = refusal(r, body);
        note(tr, code, text);
      }
    } catch (e) {
      note(tr, "network", "The server could not be reached: nothing was undone.");
    } finally {
      button.disabled = false;
    }
  }

  table.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button[data-undo]");
    if (button) undo(button.closest("tr"), button);
  });
})();
