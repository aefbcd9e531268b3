// The console's preview, kept live: every 500 ms ask the preview's fingerprint (what the
// email depends on: the bulletin file, the draft); when it changed, fetch the page again
// and swap its live part, so the frames, problems and text part follow the file within a
// second (and the approval form's draft_version with them). Without this script the page
// works the same, refreshed by hand.
// Each request says X-Live-Refresh: 1 (as console.js): a background poll does not keep
// the session alive. Redirects are not followed: after sign-out or expiry the server
// answers 303 (to the sign-in page), and polling stops, as on any answer but 200 and 404
// (the previewed file or edition missing for now: the page follows it once it is back).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  var url = live.getAttribute("data-fingerprint-url");
  var current = live.getAttribute("data-fingerprint");
  var stopped = false;
  function ask(address) {
    return fetch(address, {credentials: "same-origin", cache: "no-store", redirect: "manual",
                           headers: {"X-Live-Refresh": "1"}})
      .then(function (answer) {
        if (!answer.ok && answer.status !== 404) { stopped = true; }
        return answer.ok ? answer.text() : null;
      });
  }
  function swap() {
    return ask(window.location.href).then(function (html) {
      if (!html) { return; }
      var page = new DOMParser().parseFromString(html, "text/html");
      var fresh = page.getElementById("live");
      // The approval approves the draft shown: its version follows the swapped preview.
      var version = page.querySelector("input[name=draft_version]");
      var mine = document.querySelector("input[name=draft_version]");
      if (fresh && version && mine) { mine.value = version.value; }
      if (fresh) {
        live.replaceWith(fresh);
        live = fresh;
        current = fresh.getAttribute("data-fingerprint");
      }
    });
  }
  function poll() {
    ask(url)
      .then(function (value) { return value !== null && value !== current ? swap() : null; })
      .catch(function () { return null; })
      .then(function () { if (!stopped) { window.setTimeout(poll, 500); } });
  }
  window.setTimeout(poll, 500);
}());
