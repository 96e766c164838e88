// The one script of the settings page: the support report's copy button.
// Without JavaScript the button stays hidden and the report can be selected
// in its read-only text area.
(function () {
  "use strict";
  var button = document.getElementById("copy");
  var report = document.getElementById("report");
  if (!button || !report) { return; }
  button.hidden = false;
  var label = button.textContent;
  function done() {
    button.textContent = button.getAttribute("data-done");
    setTimeout(function () { button.textContent = label; }, 2000);
  }
  function fallback() {
    report.focus();
    report.select();
    try { if (document.execCommand("copy")) { done(); } } catch (e) { /* the text stays selected */ }
  }
  button.addEventListener("click", function () {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(report.value).then(done, fallback);
    } else {
      fallback();
    }
  });
})();
