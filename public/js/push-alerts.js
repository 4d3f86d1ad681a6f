// "Avvisi dei nuovi eventi": turns Web Push on/off on this device with the comuni and categories
// chosen in the form. The subscription's management token is kept in localStorage.
(function () {
  'use strict';
  var box = document.getElementById('push-alerts');
  if (!box) return;
  var unsupported = document.getElementById('push-unsupported');
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
  box.hidden = false;
  if (unsupported) unsupported.hidden = true;

  var TOKEN_KEY = 'sael-push-token';
  var form = document.getElementById('alerts-form');
  var status = document.getElementById('push-status');
  var enableBtn = document.getElementById('push-enable');
  var updateBtn = document.getElementById('push-update');
  var disableBtn = document.getElementById('push-disable');
  var csrf = form.querySelector('input[name="_csrf"]').value;
  var payments = document.getElementById('push-payments');

  function chosen(name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'), function (i) {
      return Number(i.value);
    });
  }
  function setChosen(name, ids) {
    Array.prototype.forEach.call(form.querySelectorAll('input[name="' + name + '"]'), function (i) {
      i.checked = ids.indexOf(Number(i.value)) >= 0;
      if (i.checked && i.closest('details')) i.closest('details').open = true;
    });
  }
  function show(active, text) {
    status.textContent = text;
    enableBtn.hidden = active;
    updateBtn.hidden = !active;
    disableBtn.hidden = !active;
  }
  function api(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.json().then(function (data) {
        if (!res.ok) {
          var err = new Error((data && (data.detail || data.title)) || 'Errore ' + res.status);
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }
  function keyBytes(b64) {
    var pad = '='.repeat((4 - (b64.length % 4)) % 4);
    var raw = atob((b64 + pad).replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function fail(err) {
    status.textContent = 'Non è stato possibile completare l’operazione: ' + err.message;
  }

  var token = localStorage.getItem(TOKEN_KEY);
  if (token) {
    api('/notifiche/push/stato', { manageToken: token })
      .then(function (s) {
        setChosen('comuni', s.comuni);
        setChosen('categorie', s.categorie);
        if (payments) payments.checked = s.pagamenti === true;
        show(true, 'Le notifiche sono attive su questo dispositivo con le scelte indicate sopra.');
      })
      .catch(function (err) {
        if (err.status === 404) localStorage.removeItem(TOKEN_KEY);
      });
  }
  if (Notification.permission === 'denied') {
    status.textContent = 'Le notifiche sono bloccate per questo sito nelle impostazioni del browser: sbloccale per attivarle.';
  }

  enableBtn.addEventListener('click', function () {
    status.textContent = 'Attivazione in corso…';
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== 'granted') throw new Error('il permesso per le notifiche non è stato concesso.');
        return navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(function () {
          return navigator.serviceWorker.ready;
        });
      })
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (existing) {
          return existing || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.vapidKey) });
        });
      })
      .then(function (sub) {
        return api('/notifiche/push/iscrizione', { subscription: sub.toJSON(), comuni: chosen('comuni'), categorie: chosen('categorie'), pagamenti: payments ? payments.checked : false });
      })
      .then(function (res) {
        localStorage.setItem(TOKEN_KEY, res.manageToken);
        show(true, 'Fatto: riceverai una notifica per ogni nuovo evento che corrisponde alle tue scelte.');
      })
      .catch(fail);
  });

  updateBtn.addEventListener('click', function () {
    api('/notifiche/push/aggiorna', { manageToken: localStorage.getItem(TOKEN_KEY), comuni: chosen('comuni'), categorie: chosen('categorie'), pagamenti: payments ? payments.checked : false })
      .then(function () {
        show(true, 'Scelte aggiornate: le notifiche seguono i comuni e le categorie indicati sopra.');
      })
      .catch(function (err) {
        if (err.status === 404) {
          localStorage.removeItem(TOKEN_KEY);
          show(false, 'Le notifiche non erano più attive: attivale di nuovo.');
        } else fail(err);
      });
  });

  disableBtn.addEventListener('click', function () {
    var t = localStorage.getItem(TOKEN_KEY);
    api('/notifiche/push/disiscrizione', { manageToken: t })
      .catch(function (err) {
        if (err.status !== 404) throw err;
      })
      .then(function () {
        localStorage.removeItem(TOKEN_KEY);
        return navigator.serviceWorker.ready.then(function (reg) {
          return reg.pushManager.getSubscription();
        });
      })
      .then(function (sub) {
        return sub && sub.unsubscribe();
      })
      .then(function () {
        show(false, 'Notifiche disattivate su questo dispositivo.');
      })
      .catch(fail);
  });
})();
