// The skills page's forms. Served from the binary under the console's strict
// Content-Security-Policy (no inline script). Creating, renaming, describing, deactivating and
// reactivating a skill are calls to the API's own skill routes with the session's
// anti-forgery token: the API checks, writes and refuses. This script sends what was typed
// and shows each error the API answers at the field it points to, in the API's words.
"use strict";

(function () {
  const csrf = document.querySelector("input[name=csrf_token]");
  const status = document.querySelector("[data-skill-status]");
  const base = "/api/v2/admin/skills";

  function clear(form) {
    form.querySelectorAll(".field-error").forEach((n) => n.remove());
    form.querySelectorAll("input[aria-invalid]").forEach((i) => {
      i.removeAttribute("aria-invalid");
      i.removeAttribute("aria-describedby");
    });
  }

  // An error at the field `name` of `form` (the form itself when it has no such field).
  function note(form, name, code, text) {
    const input = name && form.querySelector("input[name='" + name + "']");
    const p = document.createElement("span");
    p.className = "field-error";
    p.setAttribute("role", "alert");
    p.dataset.errorCode = code;
    p.dataset.errorField = name || "";
    p.textContent = text;
    if (input) {
      p.id = input.id + "-error";
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", p.id);
      input.after(p);
    } else {
      form.append(p);
    }
  }

  // Shows the API's refusal: each entry at its field, else the problem's detail.
  function refused(form, r, body) {
    const entries = (body && body.errors) || [];
    if (entries.length) {
      entries.forEach((e) => {
        const field = (e.pointer || "").replace(/^\//, "");
        note(form, field, e.code, e.hint ? e.detail + " (" + e.hint + ")" : e.detail);
      });
    } else {
      note(form, null, (body && body.code) || String(r.status), (body && body.detail) || "The change was refused.");
    }
    const first = form.querySelector("input[aria-invalid]");
    if (first) first.focus();
  }

  async function send(form, method, url, body, done) {
    clear(form);
    if (status) status.hidden = true;
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      const r = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": csrf ? csrf.value : "" },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        sessionStorage.setItem("skillgrid-skill-status", done);
        location.reload();
        return;
      }
      refused(form, r, await r.json().catch(() => null));
    } catch (e) {
      note(form, null, "network", "The server could not be reached: nothing was changed.");
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  function values(form) {
    const name = form.querySelector("input[name=name]").value;
    const description = form.querySelector("input[name=description]").value.trim();
    return { name, description: description === "" ? null : description };
  }

  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.dataset.form === "skill-create") {
      e.preventDefault();
      const v = values(form);
      const body = { name: v.name };
      if (v.description !== null) body.description = v.description;
      send(form, "POST", base, body, "The skill " + v.name.trim() + " was created.");
    } else if (form.dataset.form === "skill-edit") {
      e.preventDefault();
      send(form, "PATCH", base + "/" + form.dataset.skillId, values(form), "The skill was saved.");
    }
  });

  document.addEventListener("click", (e) => {
    const button = e.target.closest && e.target.closest("button[data-toggle-active]");
    if (!button) return;
    const form = button.parentElement.querySelector("form[data-form=skill-edit]");
    const active = button.dataset.toggleActive === "true";
    send(form, "PATCH", base + "/" + form.dataset.skillId, { active },
      active ? "The skill was reactivated." : "The skill was deactivated.");
  });

  if (status) {
    const said = sessionStorage.getItem("skillgrid-skill-status");
    if (said) {
      status.textContent = said;
      status.hidden = false;
      sessionStorage.removeItem("skillgrid-skill-status");
    }
  }
})();
