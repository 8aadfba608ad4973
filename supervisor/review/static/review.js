// Keyboard shortcuts and small helps for the review pages. Everything also works by mouse without this file.
// Queue: j/k move between rows, o or Enter opens, c confirms the focused row. The first unreviewed row has
// focus when the queue loads, so "c" repeated works down the queue one key per item.
// Item: c confirm (then next item), f moves to the "False alarm" button (Enter then presses it: no single key
// overrides a decision), n next item. Clicking a highlighted sentence picks its rule in the false-alarm form.
// Forms with data-confirm ask before they are sent (confirm every row shown, disable an account).
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
  function reach(id) {
    var el = document.getElementById(id); if (!el) return false;
    el.focus(); if (el.scrollIntoView) el.scrollIntoView({block: "center"}); return true;
  }
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
      case "f": handled = reach("do-false-alarm"); break;
      case "n": handled = press("next-link"); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });
  var select = document.getElementById("false-alarm-rule");
  document.addEventListener("click", function (e) {
    var mark = e.target && e.target.closest ? e.target.closest("mark.hit") : null;
    if (!mark || !select) return;
    var rule = (mark.getAttribute("title") || "").split(", ")[0];
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === rule) { select.selectedIndex = i; break; }
    }
  });
  document.addEventListener("submit", function (e) {
    var ask = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) e.preventDefault();
  });
})();
