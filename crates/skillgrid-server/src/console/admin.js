// The admin screens' script: the settings form and the API clients' buttons. Served from the
// binary under the console's strict Content-Security-Policy (no inline script). Every change
// is the API's own request, sent with the session and its anti-forgery token: the API
// validates, saves (or, on any mistake, saves nothing) and audits. This script shows each of
// the API's errors at the field its JSON pointer names, in the API's words, and a new secret
// once.
"use strict";

(function () {
  const csrfField = document.querySelector("input[name=csrf_token]");
  const csrf = csrfField ? csrfField.value : "";
  const errors = document.querySelector("[data-errors]");

  async function call(method, path, body) {
    const headers = { "x-csrf-token": csrf };
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(path, {
      method, credentials: "same-origin", headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json().catch(() => null);
    return [r, json];
  }

  function clearErrors(root) {
    root.querySelectorAll(".field-error").forEach((n) => n.remove());
    root.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    if (errors) errors.replaceChildren();
  }

  // JSON pointer segments, unescaped.
  function segments(pointer) {
    return pointer.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  }

  let serial = 0;
  function message(code, pointer, text) {
    const m = document.createElement("span");
    m.className = "field-error";
    m.id = "field-error-" + ++serial;
    m.setAttribute("role", "alert");
    m.dataset.errorCode = code;
    m.dataset.pointer = pointer;
    m.textContent = text;
    return m;
  }

  // The element an error's pointer names: a field of the form, a level's row, or, for a
  // pointer no field carries, the nearest field above it.
  function fieldFor(form, pointer) {
    const seg = segments(pointer);
    if (seg[0] === "proficiencyScale" && seg[1] === "levels" && seg.length > 2) {
      const row = [...form.querySelectorAll("[data-level-row]")].find(
        (r) => r.querySelector("[data-level-name]").value.trim() === seg[2]);
      if (row) return row;
    }
    for (let n = seg.length; n > 0; n--) {
      const p = "/" + seg.slice(0, n).map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
      const f = [...form.querySelectorAll("[data-field]")].find((e) => e.dataset.field === p);
      if (f) return f;
    }
    return null;
  }

  function showErrors(form, r, body) {
    const list = body && Array.isArray(body.errors) && body.errors.length ? body.errors : null;
    if (!list) {
      const code = (body && body.code) || String(r.status);
      errors.append(message(code, "", (body && body.detail) || "The request was refused (" + r.status + ")."));
      return;
    }
    let first = null;
    for (const e of list) {
      const pointer = e.pointer || "";
      const text = e.hint ? e.detail + " (" + e.hint + ")" : e.detail;
      const m = message(e.code, pointer, text);
      const field = pointer ? fieldFor(form, pointer) : null;
      if (field) {
        field.append(m);
        const input = field.querySelector("input, select");
        if (input) {
          input.setAttribute("aria-invalid", "true");
          const by = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
          input.setAttribute("aria-describedby", by.concat(m.id).join(" "));
          if (!first) first = input;
        }
      } else {
        errors.append(m);
      }
    }
    if (first) first.focus();
  }

  function networkError() {
    errors.append(message("network", "", "The server could not be reached: nothing was saved."));
  }

  // --- Settings ---------------------------------------------------------------------------

  const settings = document.querySelector("form[data-form=settings]");
  if (settings) {
    const list = settings.querySelector("[data-levels-list]");
    let rows = list.querySelectorAll("[data-level-row]").length;

    // A number as typed, or the text itself (the API says what is wrong with it).
    function number(id) {
      const v = document.getElementById(id).value.trim();
      return /^-?\d+$/.test(v) ? Number(v) : v;
    }

    function addLevel() {
      const i = rows++;
      const row = document.createElement("div");
      row.className = "level-row";
      row.dataset.levelRow = "";
      row.dataset.field = "";
      for (const [kind, label] of [["name", "Level name"], ["value", "Value"]]) {
        const l = document.createElement("label");
        l.htmlFor = "level-" + kind + "-" + i;
        l.textContent = label;
        const input = document.createElement("input");
        input.id = l.htmlFor;
        input.type = "text";
        input.dataset["level" + kind[0].toUpperCase() + kind.slice(1)] = "";
        if (kind === "value") input.inputMode = "numeric";
        row.append(l, input);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.dataset.removeLevel = "";
      remove.textContent = "Remove";
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " this level";
      remove.append(hidden);
      row.append(remove);
      list.append(row);
      row.querySelector("input").focus();
    }

    settings.addEventListener("click", (e) => {
      const t = e.target.closest && e.target.closest("button");
      if (!t) return;
      if (t.matches("[data-add-level]")) addLevel();
      if (t.matches("[data-remove-level]")) {
        t.closest("[data-level-row]").remove();
        settings.querySelector("[data-add-level]").focus();
      }
    });

    settings.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearErrors(settings);
      // A merge patch: a level no longer listed is removed with null.
      const levels = {};
      for (const name of Object.keys(JSON.parse(settings.dataset.levels))) levels[name] = null;
      for (const row of settings.querySelectorAll("[data-level-row]")) {
        const name = row.querySelector("[data-level-name]").value.trim();
        const v = row.querySelector("[data-level-value]").value.trim();
        levels[name] = /^-?\d+$/.test(v) ? Number(v) : v;
      }
      const retention = document.getElementById("audit-retention").value.trim();
      const patch = {
        proficiencyScale: {
          min: number("scale-min"), max: number("scale-max"), default: number("scale-default"), levels,
        },
        limits: {
          maxSkillsPerAgent: number("max-skills"), maxItemsPerBulk: number("max-items"),
          maxAssignmentsPerRequest: number("max-assignments"), maxBodyBytes: number("max-body"),
        },
        rateLimit: { requestsPerMinute: number("rate-rpm"), burst: number("rate-burst") },
        requireIfMatch: document.getElementById("require-if-match").checked,
        warnings: document.getElementById("warnings").value,
        auditRetentionDays: retention === "" ? null : number("audit-retention"),
      };
      const button = settings.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const [r, body] = await call("PATCH", "/api/v2/organizations/settings", patch);
        if (r.ok) {
          location.assign(location.pathname + "?saved=1");
          return;
        }
        showErrors(settings, r, body);
      } catch (err) {
        networkError();
      } finally {
        button.disabled = false;
      }
    });
  }

  // --- API clients ------------------------------------------------------------------------

  const table = document.querySelector("table[data-clients]");
  const create = document.querySelector("form[data-form=new-client]");
  if (!table || !create) return;
  const secretShown = document.querySelector("[data-secret-shown]");

  function showSecret(client) {
    secretShown.querySelector("[data-secret-client]").textContent = client.name;
    secretShown.querySelector("[data-secret]").textContent = client.clientSecret;
    secretShown.dataset.clientId = client.id;
    secretShown.hidden = false;
  }

  function button(attr, text, name) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset[attr] = "";
    b.textContent = text;
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = name;
    b.append(hidden);
    return b;
  }

  function setActive(tr, active) {
    const td = tr.querySelector("[data-active]");
    td.dataset.active = String(active);
    td.textContent = active ? "Yes" : "No";
    const b = tr.querySelector("[data-toggle-active]");
    b.firstChild.textContent = active ? "Disable" : "Enable";
  }

  // A row for a client just made, as the page shows the others.
  function addRow(c) {
    const tr = document.createElement("tr");
    tr.dataset.clientId = c.id;
    tr.dataset.name = c.name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = c.name;
    const id = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = c.id;
    id.append(code);
    const scopes = document.createElement("td");
    scopes.dataset.scopes = "";
    scopes.textContent = c.scopes.join(" ");
    const active = document.createElement("td");
    active.dataset.active = String(c.active);
    const actions = document.createElement("td");
    actions.append(button("toggleActive", "Disable", " " + c.name), " ",
      button("rotate", "Rotate secret", " of " + c.name));
    tr.append(th, id, scopes, active, actions);
    table.tBodies[0].append(tr);
    setActive(tr, c.active);
  }

  create.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(create);
    secretShown.hidden = true;
    const scopes = [...create.querySelectorAll("[data-scope]:checked")].map((c) => c.value);
    const name = document.getElementById("client-name").value;
    try {
      const [r, body] = await call("POST", "/api/v2/admin/clients", { name, scopes });
      if (!r.ok) return showErrors(create, r, body);
      addRow(body);
      showSecret(body);
      create.reset();
    } catch (err) {
      networkError();
    }
  });

  table.addEventListener("click", async (e) => {
    const b = e.target.closest && e.target.closest("button");
    if (!b) return;
    const tr = b.closest("tr");
    const base = "/api/v2/admin/clients/" + tr.dataset.clientId;
    clearErrors(document);
    secretShown.hidden = true;
    b.disabled = true;
    try {
      if (b.matches("[data-toggle-active]")) {
        const active = tr.querySelector("[data-active]").dataset.active === "true";
        const [r, body] = await call("PATCH", base, { active: !active });
        if (!r.ok) return showErrors(create, r, body);
        setActive(tr, body.active);
      } else if (b.matches("[data-rotate]")) {
        const [r, body] = await call("POST", base + "/secret");
        if (!r.ok) return showErrors(create, r, body);
        showSecret(body);
      }
    } catch (err) {
      networkError();
    } finally {
      b.disabled = false;
    }
  });
})();
