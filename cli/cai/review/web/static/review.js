// cai review serve: the keys of `cai review label` (a, b, t, s, u, n) plus d for the word diff, and the clock.
// The page works without this file (buttons and forms); it only adds keys. No request of its own.
"use strict";
(function () {
  const decide = document.getElementById("decide");
  const undo = document.getElementById("undo");
  const note = document.getElementById("note");
  const diff = document.getElementById("diff-link");
  const clock = document.getElementById("clock");
  let sent = false;

  // One submission per page: a double click or a key held down never posts twice (the server checks too).
  document.addEventListener("submit", function (event) {
    if (sent) {
      event.preventDefault();
      return;
    }
    sent = true;
    document.body.classList.add("sending");
  });

  window.addEventListener("pageshow", function () {
    sent = false; // back to a page kept in memory: it may post again
    document.body.classList.remove("sending");
  });

  function press(key) {
    if (decide) {
      const button = decide.querySelector('button[data-key="' + key + '"]');
      if (button) {
        decide.requestSubmit(button);
        return true;
      }
    }
    if (key === "u" && undo) {
      undo.requestSubmit();
      return true;
    }
    if (key === "n" && note) {
      note.focus();
      return true;
    }
    if (key === "d" && diff) {
      window.location.assign(diff.href);
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
      return;
    }
    if (event.target === note) {
      if (event.key === "Enter" || event.key === "Escape") {
        event.preventDefault();
        if (event.key === "Escape") {
          note.value = "";
        }
        note.blur();
      }
      return;
    }
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || event.key.length !== 1) {
      return;
    }
    if (press(event.key.toLowerCase())) {
      event.preventDefault();
    }
  });

  if (clock) {
    const start = Date.now() - 1000 * Number(clock.dataset.elapsed || 0);
    window.setInterval(function () {
      clock.textContent = Math.floor((Date.now() - start) / 1000) + " s";
    }, 1000);
  }
})();
