// The bulletin editor's live preview: the body is posted (with the form's other fields
// and its CSRF token) to the preview address a moment after typing stops, and the
// answer replaces the preview. Without this script the form's Preview button does it.
(function () {
  "use strict";
  var form = document.querySelector("form.editor");
  var body = document.getElementById("f-body");
  var preview = document.getElementById("preview");
  if (!form || !body || !preview || !window.fetch) { return; }
  var timer = null;
  var sent = 0;
  function refresh() {
    var number = ++sent;
    fetch(form.getAttribute("data-preview"), {
      method: "POST", body: new FormData(form), credentials: "same-origin"
    }).then(function (answer) {
      return answer.ok ? answer.text() : null;
    }).then(function (html) {
      if (html !== null && number === sent) { preview.innerHTML = html; }
    }).catch(function () {});
  }
  body.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 400);
  });
}());
