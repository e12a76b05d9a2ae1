// Personal text snippets (issue 21): a button inserts its text into the answer field at the cursor, or at the
// end, on a line of its own; the field keeps focus so typing goes on. No inline script (CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.snippet");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.target);
    if (!field) { return; }
    var text = button.dataset.text || "";
    var start = field.selectionStart, end = field.selectionEnd, value = field.value;
    if (document.activeElement !== field && start === 0 && end === 0) { start = end = value.length; }
    var before = value.slice(0, start), after = value.slice(end);
    var lead = before && !/\n$/.test(before) ? "\n" : "";
    field.value = before + lead + text + after;
    var caret = (before + lead + text).length;
    field.focus();
    field.setSelectionRange(caret, caret);
  });
}());
