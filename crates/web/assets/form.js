// After a refused submit, the first field with an error is brought into view and focused (on a
// phone it may be far below the top); without a field error, the page's error box is.
(function () {
  "use strict";
  var err = document.querySelector("form div.field-error");
  if (err) {
    var el = err.previousElementSibling;
    while (el && !el.matches("input:not([type=hidden]), select, textarea, div")) {
      el = el.previousElementSibling;
    }
    var field = el && (el.matches("div") ? el.querySelector("input, select, textarea") : el);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      if (!err.id) err.id = "err-" + (field.id || field.name);
      field.setAttribute("aria-describedby", err.id);
      field.scrollIntoView({ block: "center" });
      field.focus({ preventScroll: true });
      return;
    }
  }
  var box = document.querySelector(".errors[role=alert]");
  if (box) box.scrollIntoView({ block: "center" });
})();

// A destructive action (作废, 撤销组织, 停用, ending a link) says what will change and goes on
// only when the user agrees.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var ask = form && form.getAttribute && form.getAttribute("data-confirm");
  if (ask && !window.confirm(ask)) ev.preventDefault();
});
