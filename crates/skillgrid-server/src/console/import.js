// The import page: the chosen CSV file is posted as it is to /console/import/plan, whose
// answer (the plan, or its mistakes at their lines) is shown; Apply posts the same bytes to
// /console/import/apply, which computes the plan again and writes it all or nothing. Every
// check is the server's: this script only carries the file and shows the answers. Served from
// the binary under the console's strict Content-Security-Policy (no inline script).
"use strict";

(function () {
  const input = document.querySelector("input[data-import-file]");
  const apply = document.querySelector("button[data-import-apply]");
  const result = document.querySelector("[data-import-result]");
  const csrf = document.querySelector("input[name=csrf_token]");
  if (!input || !apply || !result || !csrf) return;
  let bytes = null;

  function refusal(code, text) {
    result.replaceChildren();
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.dataset.errorCode = code;
    p.textContent = text;
    result.append(p);
  }

  // Posts the file; shows the answer; true when the plan has no mistake.
  async function send(path) {
    apply.disabled = true;
    let r;
    try {
      r = await fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "text/csv", "X-CSRF-Token": csrf.value },
        body: bytes,
      });
    } catch (e) {
      refusal("network", "The server could not be reached: nothing was written.");
      return false;
    }
    const type = r.headers.get("Content-Type") || "";
    if (type.startsWith("text/html")) {
      // The server's own markup of the plan (maud, escaped).
      result.innerHTML = await r.text();
      const plan = result.querySelector("[data-plan]");
      return !!plan && plan.dataset.ok === "true";
    }
    const body = await r.json().catch(() => null);
    refusal((body && body.code) || String(r.status),
      (body && body.detail) || "The file was refused (" + r.status + ").");
    return false;
  }

  input.addEventListener("change", async () => {
    apply.disabled = true;
    const file = input.files && input.files[0];
    if (!file) return;
    bytes = await file.arrayBuffer();
    apply.disabled = !(await send("/console/import/plan"));
  });

  apply.addEventListener("click", async () => {
    if (!bytes) return;
    await send("/console/import/apply");
    // Applied, or refused: either way, choose the file again to plan anew.
    apply.disabled = true;
    bytes = null;
  });
})();
