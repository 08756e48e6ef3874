// The preferences page: pick the browser's own time zone in the select when none is saved yet.
// Without JavaScript the select simply stays as it is, for the reader to choose.
(function () {
  "use strict";
  var select = document.getElementById("timezone");
  if (!select || select.dataset.detect !== "yes" || !window.Intl) {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (var i = 0; i < select.options.length; i += 1) {
    if (select.options[i].value === zone) {
      select.selectedIndex = i;
      return;
    }
  }
})();
