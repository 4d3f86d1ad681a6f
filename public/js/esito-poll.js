// Outcome page: while a payment is "in corso", ask the server every few seconds whether the
// receipts have arrived and reload the page (server-rendered, with the receipt links) when they do.
// Without JavaScript the "Aggiorna lo stato" link does the same.
(function () {
  'use strict';
  var box = document.getElementById('esito-stato');
  if (!box || box.getAttribute('data-poll') !== '1') return;
  var url = box.getAttribute('data-status-url');
  var seen = Number(box.getAttribute('data-paid') || '0');
  var tries = 0;
  var maxTries = 150; // about 5 minutes, then the link remains
  function tick() {
    tries += 1;
    fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (state) {
        if (state && (state.status === 'paid' || state.paid > seen)) {
          box.textContent = state.status === 'paid' ? 'Pagamento completato: aggiornamento della pagina.' : 'È arrivata una ricevuta: aggiornamento della pagina.';
          window.location.reload();
          return;
        }
        if (tries < maxTries) window.setTimeout(tick, 2000);
      })
      .catch(function () { if (tries < maxTries) window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1500);
})();
