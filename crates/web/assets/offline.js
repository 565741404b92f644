// The offline queue of the record form. A submit is sent with fetch; when fetch fails for lack of
// a network, the entry (its fields and photos) is kept in IndexedDB with its idempotency key,
// counted as "待发送 N 条" on the form and listed on /queue, and sent again when the network
// returns (the `online` event) or when a page with the queue opens. The server honours the key,
// so an entry sent twice is recorded once. An entry is taken out of the queue when the server
// saved it, and kept with the server's message when the server refused it.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () {});
  }
  // Logging out forgets the kept pages (they carry the session's token and names).
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f && f.getAttribute && f.getAttribute("action") === "/logout" && window.caches) {
      caches.delete("taizhang-offline-v1");
    }
  });
  var box = document.getElementById("offline-queue");
  if (!box || !window.indexedDB) return;
  var user = box.getAttribute("data-user") || "";
  var DB = "taizhang-offline", STORE = "entries";

  function open() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: "key" }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (ok, fail) {
        var t = db.transaction(STORE, mode);
        var out = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); ok(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { db.close(); fail(t.error); };
      });
    });
  }
  function all() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (list) {
      return (list || []).filter(function (e) { return e.user === user; });
    });
  }
  function put(e) { return tx("readwrite", function (s) { s.put(e); }); }
  function drop(key) { return tx("readwrite", function (s) { s["delete"](key); }); }

  function newKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function csrf() {
    var i = document.querySelector("input[name=_csrf]");
    return i ? i.value : "";
  }

  function show() {
    return all().then(function (list) {
      var waiting = list.filter(function (e) { return !e.error; }).length;
      var refused = list.length - waiting;
      var text = "待发送 " + waiting + " 条";
      if (refused) text += "，未能保存 " + refused + " 条";
      box.querySelector("a").textContent = text;
      box.hidden = list.length === 0;
      var ul = document.getElementById("queue-list");
      if (ul) render(ul, list);
      return list;
    });
  }

  function render(ul, list) {
    ul.textContent = "";
    list.forEach(function (e) {
      var li = document.createElement("li");
      li.className = "card";
      var p = document.createElement("p");
      p.textContent = e.title + " · " + e.date + " · 保存于 " + new Date(e.saved).toLocaleString("zh-CN");
      li.appendChild(p);
      var st = document.createElement("p");
      st.className = e.error ? "field-error" : "muted";
      st.textContent = e.error ? "未能保存：" + e.error : "等待网络恢复后自动发送";
      li.appendChild(st);
      if (e.error) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = "移出队列";
        b.addEventListener("click", function () { drop(e.key).then(show); });
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
    var none = document.getElementById("queue-empty");
    if (none) none.hidden = list.length > 0;
  }

  // The server's message for a refused entry: the page's error box, else the status.
  function refusal(res) {
    return res.text().then(function (html) {
      var d = new DOMParser().parseFromString(html, "text/html");
      var m = d.querySelector(".errors, .field-error, main p");
      return (m ? m.textContent.trim() : "") || "服务器拒收（" + res.status + "）";
    }, function () { return "服务器拒收（" + res.status + "）"; });
  }

  function post(action, fd) {
    return fetch(action, { method: "POST", body: fd, credentials: "same-origin" });
  }
  function saved(res) {
    return res.ok && /^\/records\/\d+$/.test(new URL(res.url).pathname);
  }

  var sending = false;
  function sendAll() {
    if (sending) return Promise.resolve();
    sending = true;
    return all().then(function (list) {
      return list.filter(function (e) { return !e.error; }).reduce(function (chain, e) {
        return chain.then(function () {
          var fd = new FormData();
          // A file goes back with its name; a text field has none (append's three-argument
          // form takes only files).
          e.fields.forEach(function (f) { if (f.length > 2) fd.append(f[0], f[1], f[2]); else fd.append(f[0], f[1]); });
          fd.set("_csrf", csrf());
          return post(e.action, fd).then(function (res) {
            if (saved(res)) return drop(e.key);
            // Sent to the login (the session ended), busy, or the same key still running:
            // kept to be sent again.
            if (new URL(res.url).pathname === "/login" || res.status >= 500 || res.status === 409 || res.status === 429) return;
            return refusal(res).then(function (msg) { e.error = msg; return put(e); });
          }, function () { /* still no network */ });
        });
      }, Promise.resolve());
    }).then(function () { sending = false; return show(); }, function () { sending = false; });
  }

  var form = document.querySelector("form input[name=idempotency_key]");
  form = form && form.form;
  if (form) {
    var keyBox = form.querySelector("input[name=idempotency_key]");
    // A kept page is the same every time it is opened: each entry gets a key of its own.
    keyBox.value = newKey();
    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return;
      ev.preventDefault();
      var fd = new FormData(form);
      post(form.action, fd).then(function (res) {
        if (res.redirected) { window.location.href = res.url; return; }
        return res.text().then(function (html) { document.open(); document.write(html); document.close(); });
      }, function () {
        var fields = [];
        fd.forEach(function (v, k) {
          if (k === "_csrf") return;
          if (v instanceof File) { if (v.size > 0) fields.push([k, v, v.name]); } else fields.push([k, v]);
        });
        var h1 = document.querySelector("h1");
        var entry = {
          key: keyBox.value, user: user, action: form.action, fields: fields, saved: Date.now(),
          title: h1 ? h1.textContent.replace(/^登记\s*·\s*/, "") : "记录",
          date: fd.get("occurred_on") || "", error: null
        };
        return put(entry).then(function () {
          form.reset();
          keyBox.value = newKey();
          var note = document.getElementById("offline-note");
          if (note) { note.hidden = false; note.textContent = "网络不通，已保存在本机，网络恢复后自动发送。"; }
          return show();
        });
      });
    });
  }

  window.addEventListener("online", sendAll);
  show().then(function () { if (navigator.onLine !== false) sendAll(); });
})();
