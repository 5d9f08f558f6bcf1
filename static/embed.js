// fair's embeddable widget on a partner's site: one tag puts an edition's offer search, a
// booth's offers or the programme there.
//   <script src="https://fair.example/static/embed.js" data-fair-widget="https://fair.example/embed/e/<slug>/offers" data-fair-title="Offers of the fair" async></script>
// It makes the <iframe> in the script's place and fits its height to the widget's, from the
// messages the frame sends (static/embed-frame.js): only those from the widget's own origin
// and from that very frame are believed. No cookie, nothing else read from the partner's page.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.fairWidget) return;
  var source = new URL(script.dataset.fairWidget, script.src);
  var frame = document.createElement("iframe");
  frame.src = source.href;
  frame.title = script.dataset.fairTitle || "fair";
  frame.loading = "lazy";
  frame.referrerPolicy = "strict-origin";
  frame.width = "100%";
  frame.height = "600";
  frame.style.border = "0";
  frame.style.width = "100%";
  script.parentNode.insertBefore(frame, script.nextSibling);
  window.addEventListener("message", function (event) {
    if (event.origin !== source.origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || data.type !== "fair-embed-height") return;
    var height = Number(data.height);
    if (Number.isFinite(height) && height > 0 && height < 20000) frame.height = String(Math.ceil(height));
  });
})();
