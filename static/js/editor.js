// The post editor's live preview: the server renders the body with the import pipeline,
// a moment after typing stops, and the answer replaces the preview pane's content.
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  var preview = document.getElementById("preview");
  var body = document.getElementById("body");
  var title = document.getElementById("title");
  var token = document.querySelector('meta[name="csrf-token"]');
  if (!form || !preview || !body || !token || !window.fetch) {
    return; // the "Preview" button still renders it on the server
  }
  var DELAY = 400;
  var timer = null;
  var sent = 0; // only the newest answer is shown, whatever order they arrive in

  function render() {
    var number = ++sent;
    var data = new FormData();
    data.append("title", title ? title.value : "");
    data.append("body", body.value);
    fetch(preview.dataset.previewUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token.content, "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (result) {
        if (number !== sent) {
          return;
        }
        preview.removeAttribute("aria-busy");
        // Sanitised on the server by the same cleaner as the public page.
        preview.innerHTML = result.html || '<p class="hint">Nothing to preview yet.</p>';
      })
      .catch(function () {
        if (number !== sent) {
          return;
        }
        preview.removeAttribute("aria-busy");
        preview.innerHTML = '<p class="error">The preview could not be updated. ' +
          'Your text is not lost: use “Preview” or save the post.</p>';
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    preview.setAttribute("aria-busy", "true");
    timer = window.setTimeout(render, DELAY);
  }

  body.addEventListener("input", schedule);
  if (title) {
    title.addEventListener("input", schedule);
  }
})();
