// Inside the widget's frame (templates/embed/_layout.html): tell the page that framed it how
// tall the widget is, so static/embed.js sizes the frame without a scroll bar. Only a height
// is sent (nothing private), to the parent, which checks that it comes from fair's origin.
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function tell() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "fair-embed-height", height: height }, "*");
  }
  if ("ResizeObserver" in window) new ResizeObserver(tell).observe(document.documentElement);
  window.addEventListener("load", tell);
  tell();
})();
