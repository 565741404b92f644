// The service worker: keeps the record form, the queue page and the scripts they load, so that a
// phone without a network can still open them and record. Pages are asked for from the server
// first and kept when they answer; only without a network is the kept copy shown. Nothing is
// sent from here: the page's own script (offline.js) keeps and sends the queued entries.
"use strict";
var CACHE = "taizhang-offline-v1";
var SHELL = ["/assets/form.js", "/assets/picker.js", "/assets/offline.js", "/assets/icon.svg", "/manifest.webmanifest"];

self.addEventListener("install", function (ev) {
  ev.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (ev) {
  ev.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

function kept(path) {
  return path === "/records/new" || path === "/queue" || SHELL.indexOf(path) >= 0;
}

self.addEventListener("fetch", function (ev) {
  var req = ev.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || !kept(url.pathname)) return;
  ev.respondWith(fetch(req).then(function (res) {
    // A page that sent the user to the login is not the form: it is not kept.
    if (res.ok && !res.redirected) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { return c.put(req, copy); });
    }
    return res;
  }, function () {
    return caches.match(req).then(function (hit) {
      if (hit) return hit;
      // The form of another ledger type than the ones kept: the plain form, if it is kept.
      return caches.match(url.pathname).then(function (plain) { return plain || Response.error(); });
    });
  }));
});
