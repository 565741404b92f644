// Suggestions under every organisation or person field marked data-pick="orgs" or "people":
// as the user types a name, its pinyin or initials, the server's matches (within what the user
// may see) fill a <datalist>. Without this script the field still takes a name or a code.
(function () {
  "use strict";
  var fields = document.querySelectorAll("input[data-pick]");
  Array.prototype.forEach.call(fields, function (input, i) {
    var kind = input.getAttribute("data-pick");
    if (kind !== "orgs" && kind !== "people") return;
    var list = document.createElement("datalist");
    list.id = "pick-" + kind + "-" + i;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    var timer = null;
    var asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      // A value picked from the list ends in its code: nothing more to ask.
      if (q === "" || q === asked || /[）)]$/.test(q)) return;
      timer = setTimeout(function () {
        asked = q;
        fetch("/pick/" + kind + "/options?limit=12&q=" + encodeURIComponent(q), {
          credentials: "same-origin",
          headers: { Accept: "text/html" }
        }).then(function (r) {
          return r.ok ? r.text() : "";
        }).then(function (html) {
          if (asked === q) list.innerHTML = html;
        }).catch(function () {});
      }, 150);
    });
  });
})();
