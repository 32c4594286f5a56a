// Officer console keyboard support. Without JavaScript everything still works with Tab/Enter.
(function () {
  "use strict";
  // Complete MRZ shapes (ICAO 9303): TD1 3x30, TD2 2x36, TD3 2x44 (MRV-A 2x44, MRV-B 2x36).
  var SHAPES = [[30, 30, 30], [36, 36], [44, 44]];

  function complete(text) {
    var lines = text.toUpperCase().split(/\r?\n/).map(function (l) { return l.replace(/\s+/g, ""); })
      .filter(function (l) { return l.length > 0; });
    return SHAPES.some(function (shape) {
      return shape.length === lines.length && shape.every(function (n, i) { return lines[i].length === n; });
    });
  }

  var mrz = document.getElementById("mrz");
  var scanForm = document.getElementById("scan-form");
  if (mrz && scanForm) {
    mrz.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") { return; }
      // A scanner types each line followed by Enter: submit once the MRZ is whole.
      if (e.ctrlKey || e.metaKey || complete(mrz.value)) {
        e.preventDefault();
        if (scanForm.requestSubmit) { scanForm.requestSubmit(); } else { scanForm.submit(); }
      }
    });
  }

  // A scanned declaration QR code ends with Enter: go on to the passport, do not submit.
  var declared = document.getElementById("declaration");
  if (declared && mrz) {
    declared.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) { e.preventDefault(); mrz.focus(); }
    });
  }

  var decision = document.getElementById("decision");
  var record = document.getElementById("record");
  var reason = document.getElementById("override_reason");
  if (decision && reason) { decision.focus(); }  // REFER/DENY: read the reasons first
  if (reason) {
    // Ctrl+Enter in the override reason records (the browser still checks the length).
    reason.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        record.click();
      }
    });
  }

  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.tagName === "SELECT");
    if (typing || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var key = e.key.toLowerCase();
    if (key === "r" && record) {
      e.preventDefault();
      if (reason) { reason.focus(); } else { record.click(); }
    } else if (key === "n") {
      var next = document.getElementById("new-scan");
      if (next) { e.preventDefault(); next.click(); }
      else if (mrz) { e.preventDefault(); mrz.focus(); }
    }
  });
})();
