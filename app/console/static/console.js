// Staff console: small progressive enhancement. Every page works without this file.
(function () {
  "use strict";

  // The inbox's rows and an open conversation's messages refresh themselves without reloading the
  // page: every element with data-poll is replaced by what its URL returns now. New items (rows or
  // messages with a data-id not seen before) are marked "new".
  function poll(body) {
    var interval = parseInt(body.dataset.interval, 10) || 3000;
    var seen = {};
    body.querySelectorAll("[data-id]").forEach(function (el) { seen[el.dataset.id] = true; });
    function tick() {
      fetch(body.dataset.poll, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) {
          if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined && html.trim() !== body.innerHTML.trim()) {
            body.innerHTML = html;
            body.querySelectorAll("[data-id]").forEach(function (el) {
              if (!seen[el.dataset.id]) { el.classList.add("new"); seen[el.dataset.id] = true; }
            });
          }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .then(function () { window.setTimeout(tick, interval); });
    }
    window.setTimeout(tick, interval);
  }

  function pollAll() {
    document.querySelectorAll("[data-poll]").forEach(poll);
  }

  // "Chèn câu trả lời mẫu" fills the reply box in place, keeping what was already typed.
  function cannedReplies() {
    var form = document.getElementById("canned-form");
    var box = document.getElementById("reply-text");
    if (!form || !box) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = document.getElementById("canned").value;
      fetch("/console/api/canned/" + encodeURIComponent(id), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (!data.text) return;
          box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n\n" + data.text : data.text;
          box.focus();
        });
    });
  }

  // The knowledge-base editor previews the answer (and its errors) as the admin types.
  function livePreview() {
    var form = document.getElementById("kb-form");
    var out = document.getElementById("preview");
    if (!form || !out || !form.dataset.preview) return;
    var timer = null;
    function refresh() {
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.preview, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": form.elements.csrf_token.value, "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) return;
        out.textContent = data.preview || "Chưa hiển thị được: xem các lỗi bên trái.";
        form.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
        Object.keys(data.errors || {}).forEach(function (name) {
          var field = form.elements[name];
          var label = field && field.closest ? field.closest("label") : null;
          if (!label) return;
          data.errors[name].slice().reverse().forEach(function (msg) {
            var p = document.createElement("p");
            p.className = "field-error";
            p.dataset.field = name;
            p.textContent = msg;
            label.insertAdjacentElement("afterend", p);
          });
        });
      }).catch(function () {});
    }
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    });
    // controls outside the form that belong to it (the preview's province) refresh it too
    document.querySelectorAll('[form="' + form.id + '"]').forEach(function (el) {
      el.addEventListener("change", refresh);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollAll();
    cannedReplies();
    livePreview();
  });
})();
