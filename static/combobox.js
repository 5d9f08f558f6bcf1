// An accessible suggestion list for a text input (the WAI-ARIA 1.2 combobox pattern, list
// autocomplete), from one of two answer shapes:
// - ROME jobs for a typed job title, asked of GET /api/v1/rome/suggest?q=… (France Travail
//   ROMEO's shape: {"metiersRome": [{codeRome, libelleAppellation, …}]});
// - plain suggestions, {"suggestions": [{label, value}]}: the offer search's job names and
//   communes (GET /e/<slug>/offers/suggest?field=job|commune&q=…); `label` is shown, `value`
//   goes into the input.
//
// Without JavaScript the input stays a plain input. To use it, load this file
// (<script src="{{ static('combobox.js') }}" defer></script> in the page's head block) and mark
// the input; no inline script is needed (strict CSP):
//
//   <input id="f-title" name="title" data-combobox="{{ url('api', path='/rome/suggest') }}"
//          data-combobox-fill="f-rome_code" data-combobox-keep
//          data-combobox-none="{{ _('No suggestion') }}"
//          data-combobox-count="{{ _('{n} suggestions: use the up and down arrows') }}">
//
// - data-combobox: the URL asked (its query string kept, q=the text added, from 2 characters,
//   200 ms after the last key);
// - data-combobox-fill (optional): the id of an input that receives the chosen codeRome;
// - data-combobox-keep (optional): the input keeps what was typed (an offer's own title);
//   without it, the input takes the chosen job's name (a target job in a profile);
// - data-combobox-none, data-combobox-count: what the live region says ("{n}" is the count).
// A choice also fires a "combobox:choose" event on the input with the job in event.detail.
//
// Keyboard: Down/Up move through the list (aria-activedescendant: the focus stays in the
// input), Enter chooses, Escape closes the list (or clears the input when it is closed).
(function () {
  'use strict';
  var counter = 0;

  function setUp(input) {
    var id = 'combobox-' + (++counter);
    var list = document.createElement('ul');
    list.id = id + '-list';
    list.className = 'combobox-list';
    list.setAttribute('role', 'listbox');
    list.hidden = true;
    var labelled = input.labels && input.labels[0];
    if (labelled) {
      labelled.id = labelled.id || id + '-label';
      list.setAttribute('aria-labelledby', labelled.id);
    }
    var status = document.createElement('div');
    status.className = 'visually-hidden';
    status.setAttribute('role', 'status');
    input.insertAdjacentElement('afterend', status);
    input.insertAdjacentElement('afterend', list);
    input.parentElement.classList.add('combobox');
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('autocomplete', 'off');

    var jobs = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }

    // Either shape as {label, value, code, item}: item is what the answer gave.
    function read(body) {
      if (body.suggestions) {
        return body.suggestions.map(function (s) {
          return {label: s.label, value: s.value, code: '', item: s};
        });
      }
      return (body.metiersRome || []).map(function (job) {
        return {label: job.libelleAppellation + ' (' + job.codeRome + ')',
          value: job.libelleAppellation, code: job.codeRome, item: job};
      });
    }

    function show(found) {
      jobs = found;
      list.textContent = '';
      found.forEach(function (job, i) {
        var option = document.createElement('li');
        option.id = id + '-option-' + i;
        option.setAttribute('role', 'option');
        option.setAttribute('aria-selected', 'false');
        option.textContent = job.label;
        list.appendChild(option);
      });
      var n = found.length;
      status.textContent = n ? (input.dataset.comboboxCount || '{n}').replace('{n}', n)
        : (input.dataset.comboboxNone || '');
      if (n) {
        list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
      } else {
        close();
      }
      active = -1;
    }

    function move(to) {
      var options = list.children;
      if (!options.length) return;
      if (active >= 0) options[active].setAttribute('aria-selected', 'false');
      active = (to + options.length) % options.length;
      options[active].setAttribute('aria-selected', 'true');
      input.setAttribute('aria-activedescendant', options[active].id);
      options[active].scrollIntoView({block: 'nearest'});
    }

    function choose(i) {
      var job = jobs[i];
      if (!job) return;
      if (!('comboboxKeep' in input.dataset)) input.value = job.value;
      var target = input.dataset.comboboxFill && document.getElementById(input.dataset.comboboxFill);
      if (target) target.value = job.code;
      status.textContent = job.label;
      close();
      input.dispatchEvent(new CustomEvent('combobox:choose', {detail: job.item, bubbles: true}));
    }

    function ask() {
      var text = input.value.trim();
      if (text.length < 2) { close(); return; }
      var mine = ++asked;
      var url = new URL(input.dataset.combobox, window.location.href);
      url.searchParams.set('q', text.slice(0, 200));
      fetch(url, {headers: {accept: 'application/json'}, credentials: 'same-origin'})
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (body) { if (mine === asked) show(read(body)); })
        .catch(function () { if (mine === asked) close(); });
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener('keydown', function (event) {
      var open = !list.hidden;
      if (event.key === 'ArrowDown') {
        event.preventDefault();
        if (open) move(active + 1); else ask();
      } else if (event.key === 'ArrowUp') {
        if (!open) return;
        event.preventDefault();
        move(active - 1);
      } else if (event.key === 'Enter') {
        if (!open || active < 0) return;  // a plain Enter still submits the form
        event.preventDefault();
        choose(active);
      } else if (event.key === 'Escape') {
        if (open) { event.preventDefault(); close(); } else if (input.value) {
          event.preventDefault();
          input.value = '';
        }
      }
    });
    input.addEventListener('blur', function () { setTimeout(close, 150); });
    // mousedown, not click: the input must not lose its focus before the choice.
    list.addEventListener('mousedown', function (event) {
      var option = event.target.closest('[role="option"]');
      if (!option) return;
      event.preventDefault();
      choose(Array.prototype.indexOf.call(list.children, option));
    });
  }

  document.querySelectorAll('input[data-combobox]').forEach(setUp);
})();
