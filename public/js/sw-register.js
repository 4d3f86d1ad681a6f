// Registers the service worker (installable app, offline page, Web Push) on every page, after load.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', function () {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {
      /* the portal works without it */
    });
  });
}
