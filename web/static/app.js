// crmlink dashboard: charts, navigation pickers, copy buttons, confirmations
// and the browser upload with progress. No inline scripts (the pages' CSP
// forbids them), no dependencies but Chart.js where a page loads it.
(function () {
  'use strict';
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  // The page's messages in the reader's language, by their English text;
  // {0}, {1}… are filled from the arguments.
  var msgs = {};
  try { msgs = JSON.parse((document.getElementById('i18n') || {}).textContent || '{}'); } catch (err) { msgs = {}; }
  var t = function (s) {
    var args = Array.prototype.slice.call(arguments, 1);
    return (msgs[s] || s).replace(/\{(\d)\}/g, function (m, i) { return String(args[Number(i)]); });
  };

  // The counter picker navigates to the chosen counter.
  document.querySelectorAll('select[data-navigate]').forEach(function (sel) {
    sel.addEventListener('change', function () { window.location.href = sel.value; });
  });

  // Copy buttons copy the text of the element they name.
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var el = document.getElementById(btn.getAttribute('data-copy'));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent).then(function () {
        btn.textContent = t('Copied');
        setTimeout(function () { btn.textContent = t('Copy'); }, 1500);
      }, function () { btn.textContent = t('Select and copy by hand'); });
    });
  });

  // Forms that ask before they act.
  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) {
      if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault();
    });
  });

  // The report form: dimension pickers left at "—" are not sent.
  var report = document.getElementById('report-form');
  if (report) {
    report.addEventListener('submit', function () {
      var dims = report.querySelectorAll('select[name="dim"]');
      dims.forEach(function (d) { if (!d.value) d.disabled = true; });
    });
  }

  // Charts, drawn from the page's JSON.
  var dataEl = document.getElementById('chart-data');
  var canvas = document.getElementById('chart');
  if (dataEl && canvas && window.Chart) {
    var d = JSON.parse(dataEl.textContent);
    var colors = ['#1f5fbf', '#e08a1e', '#1b7f4b', '#6b3a8a'];
    var nf = new Intl.NumberFormat(d.locale || undefined);
    var datasets = d.datasets.map(function (s, i) {
      var c = colors[i % colors.length];
      return {
        label: s.label, data: s.data, type: s.type || 'bar', yAxisID: s.axis || 'y',
        backgroundColor: s.type === 'line' ? c : c + 'cc', borderColor: c, borderWidth: s.type === 'line' ? 2 : 0,
        pointRadius: s.type === 'line' ? 0 : undefined, tension: 0.25, order: s.type === 'line' ? 0 : 1
      };
    });
    var scales = { y: { beginAtZero: true, ticks: { callback: function (v) { return nf.format(v); } } } };
    if (d.kind === 'time' && datasets.some(function (s) { return s.yAxisID === 'y2'; })) {
      scales.y2 = { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false },
        ticks: { callback: function (v) { return nf.format(v); } } };
    }
    if (d.kind === 'bars') {
      // Long source names are shortened on narrow screens; the tooltip
      // keeps them whole.
      var short = function (s) {
        var max = window.innerWidth < 600 ? 16 : 40;
        return s.length > max ? s.slice(0, max - 1) + '…' : s;
      };
      scales = { x: { beginAtZero: true, ticks: { callback: function (v) { return nf.format(v); } } },
        y: { ticks: { autoSkip: false, callback: function (v) { return short(String(this.getLabelForValue(v))); } } } };
    }
    new window.Chart(canvas, {
      type: 'bar',
      data: { labels: d.labels, datasets: datasets },
      options: {
        indexAxis: d.kind === 'bars' ? 'y' : 'x', responsive: true, maintainAspectRatio: false, animation: false,
        locale: d.locale || undefined, interaction: { mode: 'index', intersect: false }, scales: scales,
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }

  // The upload form posts the file to the upload API, with the session's
  // cookie and CSRF token, showing its progress. Expenses go to Metrica's
  // expense calls, which take no merge mode or delimiter and answer in
  // their own shape (expenseAnswer).
  var up = document.getElementById('upload-form');
  if (up) {
    var isExpense = function (entity) { return entity === 'expenses' || entity === 'expense_removes'; };
    var showFields = function () {
      var entity = up.elements.entity.value;
      up.querySelectorAll('[data-for]').forEach(function (el) {
        var f = el.getAttribute('data-for');
        el.hidden = f === 'crm' ? isExpense(entity) : f !== entity;
      });
    };
    up.elements.entity.addEventListener('change', showFields);
    showFields();
    up.addEventListener('submit', function (e) {
      e.preventDefault();
      var file = up.querySelector('input[type="file"]').files[0];
      var status = up.querySelector('.upload-status');
      var bar = up.querySelector('progress');
      if (!file) { status.textContent = t('Choose a file first.'); return; }
      var max = Number(up.getAttribute('data-max'));
      if (max && file.size > max) { status.textContent = t('The file is larger than the server accepts ({0} bytes).', max); return; }
      var entity = up.elements.entity.value;
      var url;
      var q = new URLSearchParams();
      if (isExpense(entity)) {
        if (entity === 'expense_removes' && !window.confirm(t('Delete every stored day of spend this file names?'))) return;
        url = up.getAttribute('data-expense-api') + (entity === 'expenses' ? '/upload' : '/delete');
      } else {
        url = up.getAttribute('data-api') + (entity === 'simple_orders' ? '/data/simple_orders' : '/data/' + entity + '/csv');
        q.set('merge_mode', up.elements.merge_mode.value);
        q.set('delimiter_type', up.elements.delimiter_type.value);
      }
      if (up.elements.on_error.checked) q.set('on_error', 'skip');
      var body = new FormData();
      body.append('file', file);
      var xhr = new XMLHttpRequest();
      xhr.open('POST', url + (q.toString() ? '?' + q.toString() : ''));
      xhr.setRequestHeader('X-CSRF-Token', csrf);
      bar.hidden = false; bar.value = 0;
      up.querySelector('button[type="submit"]').disabled = true;
      status.textContent = t('Sending…');
      xhr.upload.addEventListener('progress', function (ev) {
        if (ev.lengthComputable) {
          bar.value = Math.round(100 * ev.loaded / ev.total);
          if (ev.loaded === ev.total) status.textContent = t('Sent; the server is checking and storing the rows…');
        }
      });
      xhr.addEventListener('load', function () {
        var res = {};
        try { res = JSON.parse(xhr.responseText); } catch (err) { res = {}; }
        up.querySelector('button[type="submit"]').disabled = false;
        if (xhr.status === 200 && res.uploading) {
          var u = res.uploading;
          if (isExpense(entity)) u = expenseAnswer(u);
          bar.value = 100;
          // A file whose every row was refused (on_error=skip) passed, but
          // stored nothing: it is not reported as a success.
          status.textContent = u.removed !== undefined
            ? t('Upload {0}: {1}, {2} days of spend deleted.', u.uploading_id, t(u.api_validation_status), u.removed)
            : u.accepted === 0
              ? t('Upload {0}: nothing stored, {1} rows refused.', u.uploading_id, u.rejected)
              : t('Upload {0}: {1}, {2} rows stored, {3} refused.', u.uploading_id, t(u.api_validation_status), u.accepted, u.rejected);
          if (u.warnings && u.warnings.length) {
            // Rows whose money the reports leave out: the reader must see
            // this before the page moves on, so it stays, with a link.
            var list = document.createElement('ul');
            list.className = 'upload-warnings warn';
            u.warnings.forEach(function (w) {
              var li = document.createElement('li');
              li.textContent = w;
              list.appendChild(li);
            });
            status.appendChild(list);
            var open = document.createElement('a');
            open.href = 'uploads/' + u.uploading_id;
            open.textContent = t('Open the upload');
            status.appendChild(open);
          } else {
            setTimeout(function () { window.location.href = 'uploads/' + u.uploading_id; }, 400);
          }
        } else {
          var msg = res.message || ('HTTP ' + xhr.status);
          status.textContent = t('Not stored: ') + msg;
          if (res.uploading_id) {
            var a = document.createElement('a');
            a.href = 'uploads/' + res.uploading_id + '#errors';
            a.textContent = t(' See the row errors.');
            status.appendChild(a);
          }
        }
      });
      xhr.addEventListener('error', function () {
        up.querySelector('button[type="submit"]').disabled = false;
        status.textContent = t('The upload did not reach the server; check the connection and try again.');
      });
      xhr.send(body);
    });
    // expenseAnswer reads the expense calls' uploading as the CRM
    // uploads' (uploading_id, api_validation_status, accepted, rejected),
    // with its deleted days and, in the reader's language, which rows'
    // money reports in the counter's currency leave out.
    var expenseAnswer = function (x) {
      var cur = up.getAttribute('data-currency');
      var warnings = Object.keys(x.other_currencies || {}).sort().map(function (c) {
        return t('Rows in {1}: {0}. Reports in {2}, the currency of the counter, leave their money out (crmlink keeps no exchange rates).',
          x.other_currencies[c], c, cur);
      });
      return { uploading_id: String(x.id), api_validation_status: x.status === 'FAILED' ? 'FAILED' : 'PASSED',
        accepted: x.accepted, rejected: x.rejected, removed: x.type === 'REMOVES' ? x.removed : undefined, warnings: warnings };
    };
  }
})();
