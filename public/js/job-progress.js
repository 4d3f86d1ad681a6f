// Progress bar of a background job: sets the bar width from data-percent and, while the job runs,
// polls its status and reloads the page when it ends. The page works without it (Aggiorna link).
(function () {
  var box = document.getElementById('job-progress');
  if (!box) return;
  var bar = document.getElementById('job-bar');
  function show(percent) {
    bar.style.width = percent + '%';
    bar.setAttribute('aria-valuenow', String(percent));
    document.getElementById('job-percent').textContent = percent + '%';
  }
  show(Number(bar.getAttribute('data-percent')) || 0);
  if (box.getAttribute('data-in-progress') !== '1') return;
  var url = box.getAttribute('data-status-url');
  function poll() {
    fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === 'done' || s.status === 'failed') { window.location.reload(); return; }
        show(s.percent);
        document.getElementById('job-phase').textContent = s.phase;
        document.getElementById('job-count').textContent = s.done + (s.total ? ' di ' + s.total : '');
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
