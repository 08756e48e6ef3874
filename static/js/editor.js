// The post editor: a live preview (the server renders the body with the import pipeline a
// moment after typing stops), images pasted, dropped or picked into the text, a warning before
// leaving with unsaved changes, and a copy of the text in this browser, offered back after a
// crash or a closed tab.
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  var preview = document.getElementById("preview");
  var body = document.getElementById("body");
  var title = document.getElementById("title");
  var token = document.querySelector('meta[name="csrf-token"]');
  if (!form || !body) {
    return;
  }

  // Unsaved changes: the browser asks before the page is left; saving is not leaving.
  var draftTimer = null;
  var dirty = false;
  var submitting = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () {
    submitting = true;
    window.clearTimeout(draftTimer); // a copy due a moment from now must not outlive the save
    forgetDraft();
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = ""; // older browsers show their own words, whatever this says
    }
  });

  // The local draft: what was typed, kept in this browser until the form is sent.
  var DRAFT_KEY = "weeknote-draft:" + window.location.pathname;
  var storage = null;
  try {
    storage = window.localStorage;
  } catch (error) {
    storage = null; // storage refused (private mode): the warning before leaving still works
  }

  function fields() {
    return { title: title ? title.value : "", body: body.value };
  }

  function keepDraft() {
    if (!storage || submitting) {
      return;
    }
    var draft = fields();
    draft.saved = new Date().toISOString();
    try {
      storage.setItem(DRAFT_KEY, JSON.stringify(draft));
    } catch (error) {
      // full or refused: nothing else to do
    }
  }

  function forgetDraft() {
    if (storage) {
      storage.removeItem(DRAFT_KEY);
    }
  }

  function offerDraft() {
    var kept = null;
    try {
      kept = storage && JSON.parse(storage.getItem(DRAFT_KEY) || "null");
    } catch (error) {
      kept = null;
    }
    var now = fields();
    if (!kept || (kept.body === now.body && kept.title === now.title)) {
      forgetDraft();
      return;
    }
    var offer = document.createElement("div");
    offer.className = "notice draft-offer";
    offer.id = "draft-offer";
    offer.setAttribute("role", "status");
    var words = document.createElement("p");
    var when = kept.saved ? new Date(kept.saved).toLocaleString() : "earlier";
    words.textContent = "This browser kept text you had not saved (" + when + "). Restore it, or discard it?";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.className = "button";
    restore.id = "draft-restore";
    restore.textContent = "Restore unsaved text";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "button secondary";
    discard.id = "draft-discard";
    discard.textContent = "Discard it";
    restore.addEventListener("click", function () {
      if (title && typeof kept.title === "string") {
        title.value = kept.title;
      }
      body.value = kept.body || "";
      dirty = true;
      offer.remove();
      body.focus();
      schedule();
    });
    discard.addEventListener("click", function () {
      forgetDraft();
      offer.remove();
      body.focus();
    });
    offer.appendChild(words);
    offer.appendChild(restore);
    offer.appendChild(discard);
    form.parentNode.insertBefore(offer, form);
  }

  // The live preview.
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
    window.clearTimeout(draftTimer);
    draftTimer = window.setTimeout(keepDraft, 300);
    if (!preview || !token || !window.fetch) {
      return; // the "Preview" button still renders it on the server
    }
    window.clearTimeout(timer);
    preview.setAttribute("aria-busy", "true");
    timer = window.setTimeout(render, DELAY);
  }

  body.addEventListener("input", schedule);
  if (title) {
    title.addEventListener("input", schedule);
  }

  // Images in the text: uploaded like covers, then their Markdown goes in at the cursor.
  var picker = document.getElementById("image-picker");
  var chooser = document.getElementById("body-image");
  var status = document.getElementById("image-status");

  function insertImage(file) {
    var start = body.selectionStart;
    var end = body.selectionEnd;
    var data = new FormData();
    data.append("image", file, file.name || "image.png");
    status.textContent = "Adding " + (file.name || "the image") + "…";
    fetch(picker.dataset.imageUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token.content, "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json().then(function (result) {
          if (!response.ok) {
            throw new Error(result.error || "The image could not be added.");
          }
          return result;
        });
      })
      .then(function (result) {
        var before = body.value.slice(0, start);
        var gap = before === "" || /\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n");
        body.setRangeText(gap + result.markdown + "\n\n", start, end, "end");
        var altStart = start + gap.length + 2;
        body.focus();
        body.setSelectionRange(altStart, altStart + result.alt.length); // type over the description
        status.textContent = "Image added: replace “" + result.alt + "” with what it shows.";
        body.dispatchEvent(new Event("input", { bubbles: true }));
      })
      .catch(function (error) {
        status.textContent = error.message || "The image could not be added.";
      });
  }

  function firstImage(files) {
    for (var index = 0; files && index < files.length; index++) {
      if (/^image\//.test(files[index].type)) {
        return files[index];
      }
    }
    return null;
  }

  if (picker && chooser && status && token && window.fetch && window.FormData) {
    picker.hidden = false;
    chooser.addEventListener("change", function () {
      if (chooser.files && chooser.files[0]) {
        insertImage(chooser.files[0]);
        chooser.value = "";
      }
    });
    body.addEventListener("paste", function (event) {
      var image = firstImage(event.clipboardData && event.clipboardData.files);
      if (image) {
        event.preventDefault();
        insertImage(image);
      }
    });
    body.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
      }
    });
    body.addEventListener("drop", function (event) {
      var image = firstImage(event.dataTransfer && event.dataTransfer.files);
      if (image) {
        event.preventDefault();
        insertImage(image);
      }
    });
  }

  offerDraft();
})();
