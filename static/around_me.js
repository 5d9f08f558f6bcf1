// "Around me" on the offer search (templates/public/_search_fields.html): a progressive
// enhancement. The button shows only where the browser can locate; the position is asked for
// only when it is pressed, rounded to 0.01° (about a kilometre) and sent as the form's `near`
// field in place of the commune, so the page's URL holds it and a shared link reproduces it.
(function () {
  'use strict';
  var button = document.querySelector('[data-around-me]');
  if (!button || !('geolocation' in navigator)) return;
  var form = button.closest('form');
  var near = form.querySelector('[data-near]');
  var commune = form.querySelector('[name="commune"]');
  var status = form.querySelector('[data-around-me-status]');
  button.hidden = false;
  button.addEventListener('click', function () {
    status.textContent = button.dataset.locating || '';
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(function (where) {
      near.value = where.coords.latitude.toFixed(2) + ',' + where.coords.longitude.toFixed(2);
      if (commune) commune.value = '';
      form.submit();
    }, function () {
      button.disabled = false;
      status.textContent = button.dataset.refused || '';
    }, {maximumAge: 600000, timeout: 15000});
  });
})();
