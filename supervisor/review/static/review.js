// Keyboard shortcuts for the review pages. Everything also works by mouse without this file.
// Queue: j/k move between rows, o or Enter opens, c confirms the focused row. The first unreviewed row has
// focus when the queue loads, so "c" repeated works down the queue one key per item.
// Item: c confirm (then next item), f false alarm, n next item.
(function () {
  "use strict";
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.row")); }
  function focusedRow() { var el = document.activeElement; return el && el.closest ? el.closest("tr.row") : null; }
  function move(step) {
    var all = rows(); if (!all.length) return;
    var i = all.indexOf(focusedRow());
    var next = all[Math.min(all.length - 1, Math.max(0, i < 0 ? 0 : i + step))];
    next.focus();
  }
  function press(id) { var el = document.getElementById(id); if (el) { el.click(); return true; } return false; }
  var first = document.querySelector("tr.row.st-unreviewed");
  if (first) first.focus();
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var target = e.target;
    if (target && target.closest && target.closest("input, textarea, select, button")) return;
    var row = focusedRow();
    var handled = true;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o": case "Enter":
        if (row) { window.location.href = row.getAttribute("data-href"); } else { handled = false; }
        break;
      case "c":
        if (row) { var b = row.querySelector("button.confirm"); if (b) b.click(); } else { handled = press("do-confirm"); }
        break;
      case "f": handled = press("do-false-alarm"); break;
      case "n": handled = press("next-link"); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });
})();
