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

  // What staff type in a form marked data-keep is kept in sessionStorage as they type, so a session
  // that expired (the login page comes in between) or a page left open past a re-login loses nothing:
  // the text comes back in the empty box when the page is shown again. A form the server says was sent
  // (data-keep="sent") forgets it.
  function keepDrafts() {
    document.querySelectorAll("form[data-keep]").forEach(function (form) {
      var box = form.querySelector("textarea");
      if (!box) return;
      var key = "bhxh-draft:" + form.getAttribute("action");
      var store = null;
      try { store = window.sessionStorage; } catch (e) { return; }
      if (form.dataset.keep === "sent") {
        store.removeItem(key);
      } else if (!box.value.trim() && store.getItem(key)) {
        box.value = store.getItem(key);
        var note = document.getElementById("restored");
        if (note) note.hidden = false;
      }
      function save() {
        if (box.value.trim()) { store.setItem(key, box.value); } else { store.removeItem(key); }
      }
      box.addEventListener("input", save);
      form.addEventListener("submit", save);
    });
  }

  // Vietnamese text compared without accents or case: "the bhyt" finds "Thẻ BHYT".
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D")
      .toLowerCase();
  }

  // The canned-reply picker opens on the bot's top candidates for the message; typing in the search box
  // keeps the entries whose title or one of whose questions has every word typed (the bot's first).
  function cannedSearch() {
    var search = document.getElementById("canned-search");
    var select = document.getElementById("canned");
    var data = document.getElementById("canned-data");
    if (!search || !select || !data) return;
    var parsed = JSON.parse(data.textContent);
    var suggested = parsed.suggested || [];
    var entries = parsed.entries || [];
    var byId = {};
    entries.forEach(function (e) {
      byId[e.id] = e;
      e.haystack = fold([e.title].concat(e.questions || []).join("\n"));
    });
    search.hidden = false;
    function group(label, list) {
      var g = document.createElement("optgroup");
      g.label = label;
      list.forEach(function (e) {
        var o = document.createElement("option");
        o.value = e.id;
        o.textContent = e.title;
        g.appendChild(o);
      });
      return g;
    }
    search.addEventListener("input", function () {
      var words = fold(search.value).split(/\s+/).filter(Boolean);
      function match(e) { return e && words.every(function (w) { return e.haystack.indexOf(w) >= 0; }); }
      var top = suggested.map(function (id) { return byId[id]; }).filter(match);
      var rest = entries.filter(function (e) { return match(e) && suggested.indexOf(e.id) < 0; });
      select.innerHTML = "";
      if (top.length) select.appendChild(group("Trợ lý tự động gợi ý cho tin nhắn này", top));
      if (rest.length) select.appendChild(group(words.length ? "Các mục tìm thấy" : "Tất cả các mục (theo tiêu đề)", rest));
      if (select.options.length) select.selectedIndex = 0;
      document.getElementById("canned-empty").hidden = select.options.length > 0;
      document.getElementById("insert-canned").disabled = select.options.length === 0;
    });
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
          box.dispatchEvent(new Event("input"));  // kept like typed text
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
          var field = form.elements[name] || form.querySelector('[data-errors-for="' + name + '"]');
          var label = field && field.closest ? (field.closest("label") || field) : null;
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

  // Rows of a list that keep only those whose data-search has every word typed (accents and case ignored).
  function filterBox(search, rows) {
    if (!search) return;
    search.hidden = false;
    search.addEventListener("input", function () {
      var words = fold(search.value).split(/\s+/).filter(Boolean);
      rows.forEach(function (row) {
        var text = fold(row.dataset.search);
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
      // a table of the picker with nothing left in it is hidden
      document.querySelectorAll("table.picker-table").forEach(function (table) {
        table.hidden = !table.querySelector("tr.pick:not([hidden])");
      });
    });
  }

  // The editor's picker: "Chèn" puts a parameter's, calculator's or office detail's template code into the
  // answer where the cursor is (replacing a selection), as if typed. Without JavaScript the codes are listed.
  function answerPicker() {
    var box = document.getElementById("answer");
    var picker = document.getElementById("picker");
    if (!box || !picker) return;
    filterBox(document.getElementById("picker-search"), Array.prototype.slice.call(picker.querySelectorAll("tr.pick")));
    var start = box.value.length, end = box.value.length;
    function remember() { start = box.selectionStart; end = box.selectionEnd; }
    ["keyup", "click", "select", "input", "blur"].forEach(function (ev) { box.addEventListener(ev, remember); });
    picker.querySelectorAll("button.insert").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var code = button.dataset.code;
        box.value = box.value.slice(0, start) + code + box.value.slice(end);
        start = end = start + code.length;
        box.focus();
        box.setSelectionRange(start, end);
        box.dispatchEvent(new Event("input", { bubbles: true }));  // the preview and the unsaved-edit warning
      });
    });
  }

  function relatedSearch() {
    var list = document.querySelectorAll(".related-item");
    filterBox(document.getElementById("related-search"), Array.prototype.slice.call(list));
  }

  // Leaving the knowledge-base editor (or the new-entry form) with edits not saved asks first. Submitting
  // the form (saving, publishing) is not leaving with unsaved edits.
  function unsavedWarning() {
    var form = document.getElementById("kb-form") || document.querySelector("form[data-unsaved-warning]");
    if (!form) return;
    var dirty = false;
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (ev) {
      if (!dirty) return undefined;
      ev.preventDefault();
      ev.returnValue = "";
      return "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollAll();
    keepDrafts();
    cannedSearch();
    cannedReplies();
    livePreview();
    answerPicker();
    relatedSearch();
    unsavedWarning();
  });
})();
