// Form errors in sight (templates/_form.html, errors_summary): after a refused submit the first
// error summary of the page takes the focus, so it is read first; each of its links moves the
// focus to its field and brings the field's label into view (a plain anchor would only scroll).
(function () {
  'use strict';
  var summary = document.querySelector('[data-error-summary]');
  if (!summary) return;
  summary.focus();
  summary.addEventListener('click', function (event) {
    var link = event.target.closest('a[href^="#"]');
    var target = link && document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    var field = target.matches('input, select, textarea') ? target
      : target.querySelector('input, select, textarea');  // a fieldset: its first input
    if (!field) return;
    event.preventDefault();
    var folded = field.closest('details');
    if (folded) folded.open = true;
    var caption = (field.id && document.querySelector('label[for="' + field.id + '"]'))
      || (target.tagName === 'FIELDSET' && target.querySelector('legend')) || field;
    caption.scrollIntoView();
    field.focus({preventScroll: true});
  });
})();
