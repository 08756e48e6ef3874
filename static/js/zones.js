// A time zone field's suggestions: the browser's own zone goes second, after the site's (or the
// schedule's). Without this script the list still holds every zone, the likely one first.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) {
    return;
  }
  Array.prototype.forEach.call(document.querySelectorAll("datalist[data-likely]"), function (list) {
    var option = null;
    Array.prototype.forEach.call(list.options, function (candidate) {
      if (candidate.value === zone) {
        option = candidate;
      }
    });
    if (!option) {
      option = document.createElement("option");
      option.value = zone;
    }
    if (option === list.firstElementChild) {
      return; // the site's zone is the browser's too
    }
    option.label = zone + " (this browser)";
    list.insertBefore(option, list.firstElementChild ? list.firstElementChild.nextSibling : null);
  });
})();
