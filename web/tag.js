/* crmlink tag: Metrica's ym() call shape, first-party ClientID, page views,
   goals, params, UserID and dataLayer purchases. No dependencies. */
(function (w, d) {
  "use strict";
  var script = d.currentScript || (function () {
    var s = d.getElementsByTagName("script");
    for (var i = s.length - 1; i >= 0; i--) if (/\/tag(\.[0-9a-f]+)?\.js(\?|$)/.test(s[i].src)) return s[i];
    return null;
  })();
  // Hits go to the origin the tag was loaded from.
  var origin = script ? new URL(script.src, w.location.href).origin : w.location.origin;
  var COOKIE = "_crm_uid", YEARS2 = 2 * 365 * 24 * 3600;
  var counters = {};

  function cookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([0-9]+)"));
    return m ? m[1] : "";
  }
  // The ClientID: the cookie's creation second, then nine random digits,
  // kept two years on the widest domain of the site that takes a cookie.
  function clientID() {
    var id = cookie(COOKIE);
    if (id) return id;
    var r = "";
    for (var i = 0; i < 9; i++) r += Math.floor(Math.random() * 10);
    id = String(Math.floor(Date.now() / 1000)) + r;
    var parts = w.location.hostname.split(".");
    for (var n = 2; n <= parts.length; n++) {
      var dom = parts.slice(-n).join(".");
      d.cookie = COOKIE + "=" + id + "; max-age=" + YEARS2 + "; path=/; domain=" + dom + "; SameSite=Lax";
      if (cookie(COOKIE) === id) return id;
    }
    d.cookie = COOKIE + "=" + id + "; max-age=" + YEARS2 + "; path=/; SameSite=Lax";
    return id;
  }

  function send(counter, hit) {
    hit.cid = clientID();
    if (navigator.webdriver) hit.wd = true;
    var url = origin + "/collect/" + counter;
    var body = JSON.stringify(hit);
    try {
      // text/plain keeps the request simple: no CORS preflight.
      if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    } catch (e) {}
    if (w.fetch) {
      w.fetch(url, { method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
        headers: { "Content-Type": "text/plain" } }).catch(function () {});
      return;
    }
    var q = [];
    for (var k in hit) {
      var v = hit[k];
      if (v === undefined || v === null) continue;
      q.push(encodeURIComponent(k) + "=" + encodeURIComponent(typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    new Image().src = url + "?" + q.join("&");
  }

  function pageview(c, url, ref, title) {
    send(c.id, { t: "pv", url: url, ref: ref, title: title });
    c.last = url;
  }

  function watchHistory(c) {
    var wrap = function (name) {
      var orig = w.history[name];
      if (!orig) return;
      w.history[name] = function () {
        var r = orig.apply(this, arguments);
        changed();
        return r;
      };
    };
    function changed() {
      var url = w.location.href;
      if (!c.trackHash) url = url.split("#")[0];
      if (url !== c.last) pageview(c, url, c.last, d.title);
    }
    wrap("pushState");
    wrap("replaceState");
    w.addEventListener("popstate", changed);
    if (c.trackHash) w.addEventListener("hashchange", changed);
  }

  // e-commerce: {ecommerce:{currencyCode, purchase:{actionField:{id, revenue}, products:[...]}}}
  function watchDataLayer(c, name) {
    var dl = w[name] = w[name] || [];
    function take(item) {
      var e = item && item.ecommerce, p = e && e.purchase, a = p && p.actionField;
      if (!a || a.id === undefined) return;
      var revenue = a.revenue;
      if (revenue === undefined && p.products) {
        revenue = 0;
        for (var i = 0; i < p.products.length; i++) revenue += (+p.products[i].price || 0) * (+p.products[i].quantity || 1);
      }
      send(c.id, { t: "purchase", url: w.location.href, purchase: { id: String(a.id), revenue: revenue, currency: e.currencyCode || "" } });
    }
    for (var i = 0; i < dl.length; i++) take(dl[i]);
    var push = dl.push;
    dl.push = function () {
      for (var i = 0; i < arguments.length; i++) take(arguments[i]);
      return push.apply(dl, arguments);
    };
  }

  var methods = {
    init: function (c, opts) {
      opts = opts || {};
      c.trackHash = !!opts.trackHash;
      if (opts.ecommerce) watchDataLayer(c, typeof opts.ecommerce === "string" ? opts.ecommerce : "dataLayer");
      if (opts.userParams) methods.userParams(c, opts.userParams);
      if (opts.params) methods.params(c, opts.params);
      if (opts.defer !== true) pageview(c, c.trackHash ? w.location.href : w.location.href.split("#")[0], d.referrer, d.title);
      watchHistory(c);
    },
    hit: function (c, url, o) {
      o = o || {};
      pageview(c, new URL(url, w.location.href).href, o.referer || o.referrer || c.last || d.referrer, o.title || d.title);
    },
    reachGoal: function (c, goal, params, cb) {
      if (typeof params === "function") { cb = params; params = undefined; }
      send(c.id, { t: "goal", goal: String(goal), url: w.location.href, params: params });
      if (cb) cb();
    },
    params: function (c, p) { send(c.id, { t: "params", url: w.location.href, params: p }); },
    userParams: function (c, p) { send(c.id, { t: "params", url: w.location.href, params: p }); },
    setUserID: function (c, id) { send(c.id, { t: "params", url: w.location.href, uid: String(id) }); },
    getClientID: function (c, cb) { if (typeof cb === "function") cb(clientID()); }
  };

  function ym(counter, method) {
    var args = Array.prototype.slice.call(arguments, 2);
    var c = counters[counter] || (counters[counter] = { id: counter, last: "" });
    var m = methods[method];
    if (m) {
      try { m.apply(null, [c].concat(args)); } catch (e) { if (w.console) w.console.error("crmlink tag:", e); }
    }
  }

  // Metrica's snippet queues calls in ym.a before this script arrives.
  var queued = (w.ym && w.ym.a) || [];
  w.ym = ym;
  ym.l = Date.now();
  for (var i = 0; i < queued.length; i++) ym.apply(null, queued[i]);
})(window, document);
