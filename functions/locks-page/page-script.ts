/**
 * The locks page's script: plain browser JavaScript, no framework, no build step (it is served as
 * written). Everything shown is set with textContent, never parsed as HTML. Data comes from the
 * page's own function: `locksPage/locks` (JSON, polled every POLL_MS, and again at once after each
 * event; STRONG locks, and WEAK ones when they are on Valkey, each with its kind) and
 * `locksPage/events` (server-sent events read with fetch, so the API token can travel in a header).
 * An API token given as `#token=...` in the page's address is kept in sessionStorage, never sent
 * in a URL.
 */
export const LOCKS_PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var LOCKS_URL = 'locksPage/locks';
  var EVENTS_URL = 'locksPage/events';
  var POLL_MS = 2000;
  var FEED_LIMIT = 200;
  var TOKEN_KEY = 'cloud-functions-locking-token';

  var tokenMatch = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (tokenMatch) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(tokenMatch[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  function headers() {
    var token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { 'X-Locks-Api-Token': token } : {};
  }

  var $ = function (id) { return document.getElementById(id); };
  var locksBody = $('locks-body');
  var feedList = $('feed-list');
  var known = new Map();
  var seenRows = new Set();
  var current = [];
  var clockOffsetMs = 0;
  var lastListedAt = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function duration(ms) {
    var abs = Math.abs(ms);
    if (abs < 1000) return Math.round(abs) + ' ms';
    if (abs < 60000) return (abs / 1000).toFixed(1) + ' s';
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    if (abs < 3600000) return Math.floor(abs / 60000) + 'm ' + pad(Math.floor((abs % 60000) / 1000)) + 's';
    return Math.floor(abs / 3600000) + 'h ' + pad(Math.floor((abs % 3600000) / 60000)) + 'm';
  }

  function now() { return Date.now() + clockOffsetMs; }

  function nameOf(hash, identifier) {
    if (identifier) return identifier;
    return known.get(hash) || (hash ? '#' + hash.slice(0, 12) : '');
  }

  // ---- the locks table ----
  function renderLocks() {
    $('lock-count').textContent = String(current.length);
    $('locks-empty').hidden = current.length > 0;
    locksBody.replaceChildren();
    var t = now();
    current.forEach(function (lock) {
      var row = el('tr');
      var weak = lock.kind === 'WEAK';
      row.dataset.identifier = lock.identifier;
      row.dataset.hash = lock.identifierHash;
      row.dataset.kind = lock.kind || 'STRONG';
      if (!seenRows.has(lock.identifierHash + lock.holderId)) row.classList.add('fresh');
      var id = el('td', 'identifier');
      // STRONG is the default kind; a WEAK lock (Valkey) is marked before its name.
      if (weak) {
        var badge = el('span', 'kind', 'WEAK');
        badge.title = 'A WEAK lock, in Valkey: no fence, no waiting room';
        id.append(badge);
      }
      id.append(el('span', 'name', lock.identifier));
      id.title = lock.identifier;
      row.append(id, el('td', 'mono', lock.holderId), el('td', 'num', duration(t - Date.parse(lock.acquiredAt))));
      var cell = el('td');
      var lease = el('div', 'lease');
      cell.append(lease);
      if (lock.leaseMs === undefined) {
        lease.append(el('span', 'muted', 'no lease'));
      } else {
        var left = Date.parse(lock.expiresAt) - t;
        var bar = el('div', 'bar');
        var fill = el('div', 'fill' + (left <= 0 ? ' over' : left < lock.leaseMs / 3 ? ' low' : ''));
        fill.style.width = Math.max(0, Math.min(100, (left / lock.leaseMs) * 100)) + '%';
        bar.append(fill);
        lease.append(bar, el('span', 'num', left > 0 ? duration(left) + ' left' : 'expired ' + duration(left) + ' ago'));
      }
      row.append(cell, el('td', 'num mono fence', lock.fence || '-'));
      // lockedHandler's waiting room: messages parked on this lock, and how long the oldest has waited.
      var depth = lock.queueDepth || 0;
      row.dataset.depth = String(depth);
      // WEAK locks have no waiting room: a WEAK lockedHandler re-queues.
      row.append(
        el('td', 'num depth' + (depth > 0 ? ' waiting' : ' muted'), weak ? '-' : String(depth)),
        el('td', 'num oldest' + (lock.oldestParkedAt ? '' : ' muted'), lock.oldestParkedAt ? duration(t - Date.parse(lock.oldestParkedAt)) : '-'));
      locksBody.append(row);
    });
    current.forEach(function (lock) { seenRows.add(lock.identifierHash + lock.holderId); });
  }

  var WEAK_NOTES = {
    memcached: 'WEAK locks are not listed: memcached cannot list its keys (they appear in the feed only).',
    unavailable: 'WEAK locks are not listed this time: Valkey did not answer.'
  };
  function setWeakNote(weakLocks) {
    var note = $('weak-note');
    var text = WEAK_NOTES[weakLocks] || '';
    note.hidden = !text;
    note.textContent = text;
  }

  function setProblem(text) {
    var box = $('problem');
    box.hidden = !text;
    box.textContent = text || '';
  }

  // Feed entries that arrived by hash alone get their identifier once a listing has shown it.
  function nameFeedEntries() {
    feedList.querySelectorAll('li[data-named="false"]').forEach(function (item) {
      var identifier = known.get(item.dataset.hash);
      if (!identifier) return;
      item.dataset.identifier = identifier;
      item.dataset.named = 'true';
      var label = item.querySelector('.identifier');
      if (label) label.textContent = identifier;
    });
  }

  var refreshing = false;
  var again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var sentAt = Date.now();
    fetch(LOCKS_URL, { headers: headers(), cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401) {
          $('token-form').hidden = false;
          throw new Error('this page needs the API token (LOCKS_API_TOKEN): paste it above');
        }
        if (!response.ok) throw new Error('listing the locks failed: HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) {
        clockOffsetMs = Date.parse(body.now) - (sentAt + Date.now()) / 2;
        current = body.locks;
        current.forEach(function (lock) { known.set(lock.identifierHash, lock.identifier); });
        nameFeedEntries();
        lastListedAt = Date.now();
        setWeakNote(body.weakLocks);
        setProblem('');
        renderLocks();
      })
      .catch(function (error) { setProblem(error.message); })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  var soon;
  function refreshSoon() {
    clearTimeout(soon);
    soon = setTimeout(refresh, 100);
  }

  // ---- the live feed ----
  var LABELS = {
    'acquire:acquired': ['granted', 'good'],
    'acquire:stolen': ['stolen', 'warn'],
    'acquire:lease_expired': ['takeover', 'warn'],
    'acquire:held': ['held, not granted', 'muted'],
    'acquire:error': ['acquire failed', 'bad'],
    'release:released': ['released', 'calm'],
    'release:not_holder': ['release found it lost', 'bad'],
    'release:error': ['release failed', 'bad'],
    'renew:renewed': ['renewed', 'muted'],
    'renew:not_holder': ['renewal found it lost', 'bad'],
    'renew:error': ['renewal failed', 'bad'],
    'lost:lost': ['lost', 'bad'],
    'cleanup:done': ['cleanup', 'info'],
    'cleanup:error': ['cleanup failed', 'bad'],
    'requeue:requeued': ['re-queued', 'queue'],
    'requeue:error': ['re-queue failed', 'bad'],
    'dead_letter:dead_lettered': ['dead-lettered', 'bad'],
    'dead_letter:error': ['dead-letter failed', 'bad'],
    'park:parked': ['parked', 'queue'],
    'park:full': ['queue full, re-queued', 'warn'],
    'park:too_large': ['too large to park, re-queued', 'warn'],
    'wake:claimed': ['woken', 'good'],
    'dispatch:dispatched': ['handed on', 'info']
  };

  function addEvent(event) {
    if (event.type === 'renew' && event.outcome === 'renewed' && !$('show-renewals').checked) return;
    var label = LABELS[event.type + ':' + event.outcome] || [event.type + ' ' + (event.outcome || ''), 'muted'];
    var item = el('li', 'event ' + label[1]);
    item.dataset.type = event.type;
    item.dataset.outcome = event.outcome || '';
    var name = nameOf(event.identifierHash, event.identifier);
    item.dataset.identifier = name;
    item.dataset.hash = event.identifierHash || '';
    item.dataset.named = String(Boolean(event.identifier || known.has(event.identifierHash)));
    var when = new Date(event.at);
    item.append(el('time', 'mono', when.toLocaleTimeString([], { hour12: false }) + '.' + String(when.getMilliseconds()).padStart(3, '0')));
    item.append(el('span', 'badge', label[0]));
    var what = el('span', 'what');
    if (event.type === 'cleanup') what.textContent = 'removed ' + event.deleted + ' abandoned lock' + (event.deleted === 1 ? '' : 's');
    else what.append(el('span', 'identifier', name));
    item.append(what);
    var details = [event.kind];
    if (event.holderId) details.push('holder ' + event.holderId);
    if (event.fence) details.push('fence ' + event.fence);
    if (event.waitedMs !== undefined && event.type === 'acquire') details.push('waited ' + duration(event.waitedMs));
    if (event.waitedMs !== undefined && event.type === 'wake') details.push('parked ' + duration(event.waitedMs));
    if (event.depth !== undefined) details.push(event.depth + ' in the room');
    if (event.reason && event.type === 'dispatch') details.push('by ' + event.reason);
    if (event.reason && event.type === 'dead_letter') details.push(event.reason === 'max_wait' ? 'parked past maxWaitMs' : 'past maxAttempts');
    item.append(el('span', 'details', details.join(' · ')));
    feedList.prepend(item);
    while (feedList.children.length > FEED_LIMIT) feedList.lastChild.remove();
    $('feed-empty').hidden = true;
  }

  function setLive(state, text) {
    var status = $('live');
    status.dataset.state = state;
    status.textContent = text;
  }

  function connect() {
    fetch(EVENTS_URL, { headers: headers(), cache: 'no-store' })
      .then(function (response) {
        if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
        setLive('live', 'live');
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = '';
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.done) throw new Error('the feed ended');
            buffer += decoder.decode(chunk.value, { stream: true });
            var blocks = buffer.split('\n\n');
            buffer = blocks.pop();
            blocks.forEach(function (block) {
              var data = block.split('\n').filter(function (line) { return line.indexOf('data: ') === 0; }).map(function (line) { return line.slice(6); }).join('\n');
              if (!data) return;
              addEvent(JSON.parse(data));
              refreshSoon();
            });
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        setLive('down', 'reconnecting…');
        setTimeout(connect, 1500);
      });
  }

  $('token-form').addEventListener('submit', function (submit) {
    submit.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value);
    $('token-form').hidden = true;
    refresh();
  });

  setInterval(refresh, POLL_MS);
  setInterval(function () {
    renderLocks();
    $('updated').textContent = lastListedAt ? 'listed ' + duration(Date.now() - lastListedAt) + ' ago' : '';
  }, 500);
  refresh();
  connect();
})();
`;
