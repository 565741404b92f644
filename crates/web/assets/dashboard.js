// The dashboard's figures, fetched again every minute (the box's data-every, in seconds) and
// swapped in without reloading the page; without a script the page stays as it was served.
(function () {
  "use strict";
  var box = document.getElementById("dash");
  if (!box || !window.fetch) return;
  var src = box.getAttribute("data-src");
  var every = parseInt(box.getAttribute("data-every"), 10) || 60;
  function refresh() {
    fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        box.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {
        // Offline or signed out: the figures on the page stay until the next try.
      });
  }
  setInterval(refresh, every * 1000);
})();
