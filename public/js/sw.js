/*
 * Service worker of the portal (scope "/"), version __SW_VERSION__.
 * - Installs the shell (styles, scripts, icons) and /offline (the saved events) into its cache.
 * - Page navigations go to the network first; when it fails, the cached copy of the page (event
 *   pages and the offline page only: nothing personal is cached), else /offline.
 * - Styles, scripts, fonts and icons: from the cache, refreshed in the background.
 * - Web Push: shows the message ({title, body, url, tag}) and opens its page on click.
 */
'use strict';
const VERSION = '__SW_VERSION__';
const SHELL = 'shell-' + VERSION;
const PAGES = 'pages-v1';
const SHELL_URLS = [
  '/offline',
  '/static/css/bootstrap-italia.css',
  // The pages' JavaScript modules (src/plugins/page-modules.ts) are filled in here when served:
  /* __PAGE_MODULES__ */
  '/static/css/fonts.css',
  '/static/css/app.css',
  '/static/css/portal.css',
  '/static/js/sw-register.js',
  '/icone/app-192.png',
  '/manifest.webmanifest',
];
const MAX_PAGES = 60;
/** Pages kept for offline reading: the event pages. */
const CACHEABLE_PAGE = /^\/eventi\/\d+(\/[^/]*)?$/;
/** The saved events are shown here: /offline is fetched again at each visit. */
const SAVED_PAGE = /^\/i-miei-eventi(\/|$)/;
/** Pages where the visitor may have saved events (or signed in): /offline is refreshed at most every 5 minutes. */
const REFRESH_OFFLINE = /^\/(eventi|il-mio-comune|area-personale)(\/|$)/;
let offlineRefreshedAt = 0;
/** A form was posted (saving or removing an event, signing in or out): refresh at the next page. */
let savedChanged = false;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(SHELL_URLS.map((u) => new Request(u, { credentials: 'same-origin', cache: u === '/offline' ? 'no-store' : 'default' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('shell-') && key !== SHELL) await caches.delete(key);
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      await self.clients.claim();
    })(),
  );
});

async function refreshOffline(force) {
  if (!force && Date.now() - offlineRefreshedAt < 300000) return;
  offlineRefreshedAt = Date.now();
  savedChanged = false;
  try {
    const res = await fetch('/offline', { credentials: 'same-origin', cache: 'no-store' });
    if (res.ok) await (await caches.open(SHELL)).put('/offline', res);
  } catch (e) {
    /* offline again */
  }
}

async function trimPages() {
  const cache = await caches.open(PAGES);
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - MAX_PAGES; i++) await cache.delete(keys[i]);
}

async function navigate(event) {
  const url = new URL(event.request.url);
  try {
    const res = (await event.preloadResponse) || (await fetch(event.request));
    if (res.ok && CACHEABLE_PAGE.test(url.pathname)) {
      const copy = res.clone();
      event.waitUntil(caches.open(PAGES).then((c) => c.put(event.request, copy)).then(trimPages));
    }
    if (savedChanged || SAVED_PAGE.test(url.pathname)) event.waitUntil(refreshOffline(true));
    else if (REFRESH_OFFLINE.test(url.pathname)) event.waitUntil(refreshOffline(false));
    return res;
  } catch (err) {
    const cached = (await caches.match(event.request, { cacheName: PAGES })) || (await caches.match('/offline', { cacheName: SHELL }));
    return cached || new Response('Sei offline.', { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  }
}

async function staleWhileRevalidate(event) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(event.request);
  const network = fetch(event.request)
    .then((res) => {
      if (res.ok) return cache.put(event.request, res.clone()).then(() => res);
      return res;
    })
    .catch(() => cached);
  if (cached) {
    event.waitUntil(network.then(() => undefined));
    return cached;
  }
  return network;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.method === 'POST' && req.mode === 'navigate' && url.pathname === '/logout') {
    // Signing out: forget the cached pages (the offline copy showed the signed-in header).
    event.waitUntil(caches.delete(PAGES));
  }
  if (req.method === 'POST' && req.mode === 'navigate') {
    savedChanged = true;
    return;
  }
  if (req.method !== 'GET') return;
  if (req.mode === 'navigate') {
    event.respondWith(navigate(event));
    return;
  }
  if (/^\/(bi|static|icone)\//.test(url.pathname)) event.respondWith(staleWhileRevalidate(event));
});

self.addEventListener('push', (event) => {
  let msg = { title: 'Nuovo evento', body: '', url: '/eventi', tag: 'evento' };
  try {
    if (event.data) msg = Object.assign(msg, event.data.json());
  } catch (e) {
    if (event.data) msg.body = event.data.text();
  }
  const url = typeof msg.url === 'string' && msg.url.startsWith('/') && !msg.url.startsWith('//') ? msg.url : '/eventi';
  event.waitUntil(
    self.registration.showNotification(msg.title, { body: msg.body, tag: msg.tag, icon: '/icone/app-192.png', badge: '/icone/app-192.png', lang: 'it', data: { url } }),
  );
});

// The browser replaced the subscription (expiry, key rotation): tell the portal, or the alerts
// would keep going to the old endpoint until its push service answers 410.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(
    (async () => {
      const old = event.oldSubscription;
      if (!old) return;
      const next = event.newSubscription || (await self.registration.pushManager.subscribe(old.options));
      await fetch('/notifiche/push/rinnova', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ oldEndpoint: old.endpoint, subscription: next.toJSON() }),
      });
    })(),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || '/eventi', self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      for (const w of windows) {
        if (w.url === url && 'focus' in w) return w.focus();
      }
      return self.clients.openWindow(url);
    })(),
  );
});
