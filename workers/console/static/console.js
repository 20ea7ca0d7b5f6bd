// ordersync console: the only script. Select-all for bulk actions and a confirmation before bulk changes.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = all.checked; });
    });
  }
  var bulk = document.getElementById("bulk");
  if (bulk) {
    bulk.addEventListener("submit", function (event) {
      var chosen = document.querySelectorAll("input[name=ids]:checked").length;
      var action = event.submitter ? event.submitter.value : "";
      if (chosen > 1 && !window.confirm(action + " " + chosen + " items?")) { event.preventDefault(); }
    });
  }
});
