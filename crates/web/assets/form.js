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

// A file over the field's limit is refused as soon as it is chosen, beside the field, so that
// nothing typed is lost to a submit the server would have to cut short. The server says the
// same when the script does not run.
document.addEventListener("change", function (ev) {
  var input = ev.target;
  var max = input && input.getAttribute && Number(input.getAttribute("data-max-bytes"));
  if (!max || !input.files) return;
  var note = input.parentNode.querySelector(".field-error[data-for='" + input.id + "']");
  var big = Array.prototype.filter.call(input.files, function (f) { return f.size > max; });
  if (!big.length) {
    if (note) note.remove();
    return;
  }
  if (!note) {
    note = document.createElement("div");
    note.className = "field-error";
    note.setAttribute("data-for", input.id);
    note.setAttribute("role", "alert");
    input.insertAdjacentElement("afterend", note);
  }
  note.textContent = big.map(function (f) { return "“" + f.name + "”"; }).join("、") +
    input.getAttribute("data-too-large");
  input.value = "";
});
