// The console's preview, kept live: every 500 ms ask the preview's fingerprint (what the
// email depends on: the bulletin file, the draft); when it changed, fetch the page again
// and swap its live part, so the frames, problems and text part follow the file within a
// second. Without this script the page works the same, refreshed by hand.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  var url = live.getAttribute("data-fingerprint-url");
  var current = live.getAttribute("data-fingerprint");
  function swap() {
    return fetch(window.location.href, {credentials: "same-origin", cache: "no-store"})
      .then(function (answer) { return answer.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (fresh) {
          live.replaceWith(fresh);
          live = fresh;
          current = fresh.getAttribute("data-fingerprint");
        }
      });
  }
  function poll() {
    fetch(url, {credentials: "same-origin", cache: "no-store"})
      .then(function (answer) { return answer.ok ? answer.text() : current; })
      .then(function (value) { return value !== current ? swap() : null; })
      .catch(function () { return null; })
      .then(function () { window.setTimeout(poll, 500); });
  }
  window.setTimeout(poll, 500);
}());
