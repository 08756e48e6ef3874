// The digest progress page: poll progress.json and update the counts until sending is over.
(function () {
  "use strict";
  var root = document.getElementById("digest-progress");
  if (!root) return;
  var FINISHED = ["sent", "cancelled", "skipped"];
  var INTERVAL = 1500;

  function settled(status) {
    // A held digest waits for the author; the others here have nothing more to send.
    return FINISHED.indexOf(status) !== -1 || status === "held";
  }

  function setText(id, value) {
    var element = document.getElementById(id);
    if (element && element.textContent !== String(value)) element.textContent = value;
  }

  function showTroubles(lines) {
    var section = document.getElementById("digest-troubles");
    var list = document.getElementById("trouble-list");
    if (!section || !list) return;
    var now = Array.prototype.map.call(list.children, function (item) { return item.textContent; });
    if (now.join("\n") !== lines.join("\n")) {
      list.replaceChildren.apply(list, lines.map(function (line) {
        var item = document.createElement("li");
        item.textContent = line;
        return item;
      }));
    }
    section.hidden = lines.length === 0;
  }

  function show(state) {
    setText("digest-status", state.status);
    setText("digest-summary", state.summary);
    showTroubles(state.troubles || []);
    Object.keys(state.counts).forEach(function (name) {
      setText("count-" + name, state.counts[name]);
    });
    setText("count-done", state.done);
    setText("count-total", state.total);
    var bar = document.getElementById("digest-bar");
    if (bar) {
      bar.max = state.total || 1;
      bar.value = state.done;
      bar.textContent = state.done + " of " + state.total;
    }
    var retry = document.getElementById("retry-form");
    if (retry) retry.hidden = !state.counts.failed;
    var web = document.getElementById("web-copy");
    if (web) web.hidden = state.status !== "sent";
    var pace = document.getElementById("digest-pace");
    if (pace) {
      setText("digest-pace", state.pace || "");
      pace.hidden = !state.pace;
    }
    var problem = document.getElementById("digest-problem");
    if (problem) {
      setText("digest-problem", state.problem || "");
      problem.hidden = !state.problem;
    }
    var stop = document.getElementById("cancel-form");
    if (stop) stop.hidden = state.status !== "sending";
  }

  function poll() {
    fetch(root.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (!settled(state.status)) window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        // A dropped connection or a restart: try again a little later; Refresh still works.
        window.setTimeout(poll, INTERVAL * 4);
      });
  }

  if (!settled(root.dataset.status)) window.setTimeout(poll, INTERVAL);
})();
