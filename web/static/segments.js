// crmlink dashboard: the Segments page. The editor builds a condition
// from pickers into an expression the reader may also edit by hand, shows
// its size as it changes and a preview of its members, and saves or
// deletes the segment; each saved segment's audience files download, its
// Yandex formats push, and its history of both shows. Everything goes
// through the segments API with the session's cookie and CSRF header. No
// inline scripts (the pages' CSP forbids them); what comes from the
// server is written as text, never as HTML.
(function () {
  'use strict';
  var dataEl = document.getElementById('segments-data');
  if (!dataEl) return;
  var cfg = JSON.parse(dataEl.textContent);
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  // The page's messages in the reader's language, as app.js reads them.
  var msgs = {};
  try { msgs = JSON.parse((document.getElementById('i18n') || {}).textContent || '{}'); } catch (err) { msgs = {}; }
  var t = function (s) {
    var args = Array.prototype.slice.call(arguments, 1);
    return (msgs[s] || s).replace(/\{(\d)\}/g, function (m, i) { return String(args[Number(i)]); });
  };

  // Counts and times are written as the page writes them: the locale's
  // grouping; the date in its order, and the time of day, in the
  // counter's time zone.
  var num = function (n) {
    n = Math.round(Number(n) || 0);
    var digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, cfg.group || '');
    return (n < 0 ? '\u2212' : '') + digits;
  };
  var parts;
  try {
    parts = new Intl.DateTimeFormat('en-US', { timeZone: cfg.time_zone || undefined, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  } catch (err) {
    parts = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  }
  var when = function (iso) {
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    var p = {};
    parts.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    var order = { dmy: [p.day, p.month, p.year], mdy: [p.month, p.day, p.year] }[cfg.date_order] || [p.year, p.month, p.day];
    return order.join(cfg.date_sep || '-') + ' ' + p.hour + ':' + p.minute;
  };
  var formats = {};
  (cfg.formats || []).forEach(function (f) { formats[f.name] = f; });
  var title = function (name) { return formats[name] ? formats[name].title : name; };

  // Why members were left out of a file, by the reasons the API names.
  var reasons = {
    visitor: t('visitors without a customer record'),
    no_email_phone: t('no email or phone'),
    md5_only: t('emails and phones known only as MD5'),
    phone_not_e164: t('phones without a country code'),
    hash_only: t('known only as hashes'),
    no_client_id: t('no ClientID'),
    no_email: t('no email'),
    no_phone: t('no phone')
  };

  // el makes an element with attributes and children (strings become
  // text).
  var el = function (tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return e;
  };
  var clear = function (e) { while (e.firstChild) e.removeChild(e.firstChild); };

  // api calls the segments API and reads its JSON answer, whatever the
  // status.
  var api = function (method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
    if (body) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (text) {
        var data = {};
        try { data = JSON.parse(text); } catch (err) { data = {}; }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      return { ok: false, status: 0, data: { message: t('The server did not answer; check the connection and try again.') } };
    });
  };
  var errorOf = function (res) { return (res.data && res.data.message) || ('HTTP ' + res.status); };

  // sizeView shows a size as the list does: the five counts, then what
  // each audience file would hold.
  var sizeView = function (ans) {
    var s = ans.size || {};
    var frag = document.createDocumentFragment();
    var dl = el('dl', { class: 'sizes' });
    [['customers', t('Customers')], ['visitors', t('Visitors')], ['client_ids', t('ClientIDs')], ['emails', t('Emails')], ['phones', t('Phones')]]
      .forEach(function (p) { dl.appendChild(el('div', {}, [el('dt', {}, [p[1]]), el('dd', { 'data-size': p[0] }, [num(s[p[0]])])])); });
    frag.appendChild(dl);
    var body = el('tbody');
    (ans.audiences || []).forEach(function (a) {
      var first = el('td', {}, [title(a.format)]);
      var min = formats[a.format] ? formats[a.format].min_rows : 0;
      if (a.rows < min) first.appendChild(el('div', { class: 'sub warn' }, [t('takes at least {0} rows', num(min))]));
      body.appendChild(el('tr', { 'data-format': a.format }, [first, el('td', { class: 'num' }, [num(a.rows)]),
        el('td', { class: 'num' }, [num(a.members)]), el('td', { class: 'num' }, [num(a.left_out)])]));
    });
    frag.appendChild(el('div', { class: 'table-wrap' }, [el('table', { class: 'formats' }, [
      el('thead', {}, [el('tr', {}, [el('th', {}, [t('Audience file')]), el('th', { class: 'num' }, [t('Rows')]),
        el('th', { class: 'num' }, [t('Members')]), el('th', { class: 'num' }, [t('Left out')])])]), body])]));
    return frag;
  };

  // The editor.
  var form = document.getElementById('segment-form');
  if (form) {
    var f = form.elements;
    var expr = f.expression;
    var kind = document.getElementById('cond-kind');
    var status = document.getElementById('segment-status');
    var sizeBox = document.getElementById('segment-size');
    var membersBox = document.getElementById('segment-members');
    var say = function (msg) { status.textContent = msg; };

    var showKind = function () {
      form.querySelectorAll('.cond').forEach(function (c) { c.hidden = c.getAttribute('data-kind') !== kind.value; });
    };
    kind.addEventListener('change', showKind);
    showKind();

    // quote writes a value as a quoted string of the expression language.
    var quote = function (v) { return "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'"; };
    var whole = function (name, lo) {
      var v = String(f[name].value).trim();
      if (!/^[0-9]{1,9}$/.test(v) || Number(v) < lo) return null;
      return String(Number(v));
    };
    // condition is the picked condition as an expression, or a message
    // saying what is missing. Conditions on visits each stand in their
    // own EXISTS(...), so that two of them may be met by different visits.
    var condition = function (k) {
      var n;
      switch (k) {
        case 'paid_orders':
          n = whole('paid_orders', 1);
          return n === null ? { error: t('Give a whole number of orders from 1.') } : { expr: 'cdp:c:paidOrders>=' + n };
        case 'last_order':
          n = whole('last_order_days', 0);
          return n === null ? { error: t('Give a whole number of days.') } : { expr: 'cdp:c:daysSinceLastOrder>' + n };
        case 'revenue':
          n = String(f.revenue.value).trim().replace(',', '.');
          return /^[0-9]{1,18}(\.[0-9]{1,10})?$/.test(n) ? { expr: 'cdp:c:paidRevenue>=' + n } : { error: t('Give an amount, such as 10000 or 2500.50.') };
        case 'source':
          n = whole('source_days', 1);
          if (n === null) return { error: t('Give a whole number of days from 1.') };
          return { expr: 'EXISTS(ym:s:' + f.attribution.value + 'TrafficSource==' + quote(f.source.value) + ' AND ym:s:daysAgo<' + n + ')' };
        case 'device':
          return { expr: 'EXISTS(ym:s:deviceCategory==' + quote(f.device.value) + ')' };
        case 'place':
          n = String(f.place_name.value).trim();
          return n ? { expr: 'EXISTS(ym:s:' + f.place.value + '==' + quote(n) + ')' } : { error: t('Give the name of the place.') };
        case 'goal':
          return f.goal ? { expr: 'EXISTS(ym:s:goal==' + quote(f.goal.value) + ')' } : { error: t('The counter has no goals yet.') };
        case 'has_email':
          return { expr: "cdp:c:hasEmail=='yes'" };
        case 'has_phone':
          return { expr: "cdp:c:hasPhone=='yes'" };
      }
      return { error: t('Pick a condition.') };
    };

    // The size follows the expression, a moment after the typing stops;
    // an answer to an older expression is dropped.
    var timer = null;
    var asked = 0;
    var sizeNow = function () {
      var e = expr.value.trim();
      var mine = ++asked;
      if (!e) {
        clear(sizeBox);
        sizeBox.setAttribute('data-state', 'empty');
        sizeBox.appendChild(el('p', { class: 'hint' }, [t('Build a condition with the pickers, or type an expression.')]));
        return;
      }
      // The figures of the last expression stay, dimmed, until the new
      // ones come.
      sizeBox.setAttribute('data-state', 'loading');
      if (!sizeBox.querySelector('.sizes')) {
        clear(sizeBox);
        sizeBox.appendChild(el('p', { class: 'hint' }, [t('Counting…')]));
      }
      api('GET', cfg.api + '/size?expression=' + encodeURIComponent(e)).then(function (res) {
        if (mine !== asked) return;
        clear(sizeBox);
        if (!res.ok) {
          sizeBox.setAttribute('data-state', 'error');
          sizeBox.appendChild(el('p', { class: 'error' }, [errorOf(res)]));
          return;
        }
        sizeBox.setAttribute('data-state', 'ok');
        sizeBox.appendChild(sizeView(res.data));
      });
    };
    // sizeSoon marks the size shown as out of date at once, and asks
    // for the new one after ms.
    var sizeSoon = function (ms) {
      clearTimeout(timer);
      sizeBox.setAttribute('data-state', 'loading');
      timer = setTimeout(sizeNow, ms);
    };
    expr.addEventListener('input', function () { sizeSoon(400); });
    sizeNow();

    document.getElementById('cond-add').addEventListener('click', function () {
      var c = condition(kind.value);
      if (c.error) { say(c.error); return; }
      say('');
      var cur = expr.value.trim();
      // AND binds before OR: an expression with OR is kept whole.
      if (/\bOR\b/i.test(cur)) cur = '(' + cur + ')';
      expr.value = cur ? cur + ' AND ' + c.expr : c.expr;
      sizeSoon(0);
    });

    // The first members, customers by their id and visitors by ClientID;
    // emails and phones as the start of their SHA-256.
    document.getElementById('segment-preview').addEventListener('click', function () {
      var e = expr.value.trim();
      clear(membersBox);
      if (!e) { say(t('Build a condition with the pickers, or type an expression.')); return; }
      say(t('Loading…'));
      api('GET', cfg.api + '/members?limit=20&expression=' + encodeURIComponent(e)).then(function (res) {
        if (!res.ok) { say(t('No members shown: ') + errorOf(res)); return; }
        say('');
        var list = res.data.members || [];
        if (!list.length) {
          membersBox.appendChild(el('p', { class: 'none' }, [t('No one meets the condition.')]));
          return;
        }
        var hashes = function (hs) {
          hs = hs || [];
          if (!hs.length) return '—';
          return hs[0].slice(0, 12) + '…' + (hs.length > 1 ? ' +' + (hs.length - 1) : '');
        };
        var body = el('tbody');
        list.forEach(function (m) {
          var who = m.uniq_id
            ? el('a', { href: cfg.clients + '/' + encodeURIComponent(m.uniq_id) }, [m.uniq_id])
            : el('span', { class: 'sub' }, [t('visitor')]);
          body.appendChild(el('tr', {}, [el('td', {}, [who]), el('td', {}, [(m.client_ids || []).join(', ') || '—']),
            el('td', {}, [el('code', {}, [hashes(m.email_sha256)])]), el('td', {}, [el('code', {}, [hashes(m.phone_sha256)])])]));
        });
        membersBox.appendChild(el('h3', {}, [t('Members shown: {0}', num(list.length))]));
        membersBox.appendChild(el('div', { class: 'table-wrap' }, [el('table', { id: 'members' }, [
          el('thead', {}, [el('tr', {}, [el('th', {}, [t('Customer')]), el('th', {}, [t('ClientIDs')]),
            el('th', {}, [t('Emails (SHA-256)')]), el('th', {}, [t('Phones (SHA-256)')])])]), body])]));
      });
    });

    // Save: a new segment or the one being edited; then the page shows it.
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var id = form.getAttribute('data-id');
      var body = { segment: { name: f.name.value, expression: expr.value } };
      say(t('Saving…'));
      api(id ? 'PUT' : 'POST', id ? cfg.api + '/segment/' + id : cfg.api + '/segments', body).then(function (res) {
        if (!res.ok || !res.data.segment) { say(t('Not saved: ') + errorOf(res)); return; }
        var sid = res.data.segment.segment_id;
        say(t('Saved.'));
        window.location.href = cfg.page + '?edit=' + sid + '#segment-' + sid;
      });
    });

    var del = document.getElementById('segment-delete');
    if (del) {
      del.addEventListener('click', function () {
        if (!window.confirm(del.getAttribute('data-confirm'))) return;
        api('DELETE', cfg.api + '/segment/' + form.getAttribute('data-id')).then(function (res) {
          if (!res.ok) { say(t('Not deleted: ') + errorOf(res)); return; }
          window.location.href = cfg.page;
        });
      });
    }
  }

  // A segment's history of downloads and pushes, newest first.
  var loadHistory = function (d) {
    var box = d.querySelector('.history-body');
    clear(box);
    box.appendChild(el('p', { class: 'hint' }, [t('Loading…')]));
    api('GET', d.getAttribute('data-url')).then(function (res) {
      clear(box);
      if (!res.ok) { box.appendChild(el('p', { class: 'error' }, [errorOf(res)])); return; }
      var list = res.data.exports || [];
      if (!list.length) { box.appendChild(el('p', { class: 'none' }, [t('Nothing downloaded or pushed yet.')])); return; }
      var body = el('tbody');
      list.forEach(function (x) {
        var result = x.error ? el('span', { class: 'warn' }, [x.error]) : (x.target ? t('Yandex Audience segment {0}', x.target) : '');
        body.appendChild(el('tr', { 'data-kind': x.kind, 'data-format': x.format }, [
          el('td', {}, [when(x.time)]), el('td', {}, [cfg.kinds[x.kind] || x.kind]),
          el('td', {}, [title(x.format)]), el('td', {}, [x.who || '—']), el('td', { class: 'num' }, [num(x.rows)]),
          el('td', { class: 'num' }, [num(x.members)]), el('td', { class: 'num' }, [num(x.left_out)]), el('td', {}, [result])]));
      });
      box.appendChild(el('div', { class: 'table-wrap' }, [el('table', {}, [el('thead', {}, [el('tr', {}, [
        el('th', {}, [t('When')]), el('th', {}, [t('What')]), el('th', {}, [t('Audience file')]), el('th', {}, [t('Who')]),
        el('th', { class: 'num' }, [t('Rows')]), el('th', { class: 'num' }, [t('Members')]), el('th', { class: 'num' }, [t('Left out')]),
        el('th', {}, [t('Result')])])]), body])]));
    });
  };
  document.querySelectorAll('details.history').forEach(function (d) {
    d.addEventListener('toggle', function () { if (d.open) loadHistory(d); });
  });
  // showHistory opens a segment's history, or reloads it when open.
  var showHistory = function (card) {
    var d = card.querySelector('details.history');
    if (!d) return;
    if (d.open) loadHistory(d);
    else d.open = true;
  };

  // Audience files: fetched first, so that a file the platform would
  // refuse (too few rows) is a message here rather than a download of an
  // error; then saved under the name the server gives.
  document.querySelectorAll('a[data-audience]').forEach(function (a) {
    a.addEventListener('click', function (ev) {
      ev.preventDefault();
      var card = a.closest('.segment');
      var st = card.querySelector('.export-status');
      st.textContent = t('Preparing the file…');
      fetch(a.href, { credentials: 'same-origin' }).then(function (resp) {
        if (!resp.ok) {
          return resp.text().then(function (text) {
            var msg = 'HTTP ' + resp.status;
            try { msg = JSON.parse(text).message || msg; } catch (err) { /* not JSON */ }
            st.textContent = t('No file: ') + msg;
          });
        }
        var name = 'segment.csv';
        var m = /filename="([^"]+)"/.exec(resp.headers.get('Content-Disposition') || '');
        if (m) name = m[1];
        var rows = resp.headers.get('X-Crmlink-Rows');
        var members = resp.headers.get('X-Crmlink-Members');
        var left = {};
        try { left = JSON.parse(resp.headers.get('X-Crmlink-Left-Out') || '{}') || {}; } catch (err) { left = {}; }
        return resp.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var save = el('a', { href: url, download: name, hidden: '' });
          document.body.appendChild(save);
          save.click();
          save.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
          var why = Object.keys(left).filter(function (k) { return left[k] > 0; }).map(function (k) {
            return (reasons[k] || k) + ': ' + num(left[k]);
          });
          st.textContent = t('Downloaded {0}: {1} rows, {2} members.', name, num(rows), num(members)) +
            (why.length ? ' ' + t('Left out: {0}.', why.join('; ')) : '');
          showHistory(card);
        });
      }, function () {
        st.textContent = t('The server did not answer; check the connection and try again.');
      });
    });
  });

  // Pushes to Yandex Audience.
  document.querySelectorAll('button[data-push]').forEach(function (b) {
    b.addEventListener('click', function () {
      var card = b.closest('.segment');
      var st = card.querySelector('.export-status');
      b.disabled = true;
      st.textContent = t('Pushing to Yandex Audience…');
      api('POST', b.getAttribute('data-url'), { format: b.getAttribute('data-push') }).then(function (res) {
        b.disabled = false;
        var x = (res.data && res.data.export) || {};
        if (!res.ok || x.error) {
          st.textContent = t('Not pushed: ') + (x.error || errorOf(res));
        } else {
          st.textContent = t('Pushed {0} rows, {1} members; Yandex Audience segment {2}.', num(x.rows), num(x.members), x.target || '—');
        }
        showHistory(card);
      });
    });
  });
})();
