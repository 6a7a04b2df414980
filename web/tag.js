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

  // post sends one hit: sendBeacon (text/plain JSON), else fetch keepalive,
  // else a GIF. Given stored, it sends with fetch, whose answer comes once
  // the collector has stored the hit, and calls stored then (or on failure).
  function post(counter, hit, stored) {
    var url = origin + "/collect/" + counter;
    var body = JSON.stringify(hit);
    if (!stored) {
      try {
        // text/plain keeps the request simple: no CORS preflight.
        if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
      } catch (e) {}
    }
    if (w.fetch) {
      try {
        var p = w.fetch(url, { method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
          headers: { "Content-Type": "text/plain" } });
        if (stored) p.then(stored, stored); else p.catch(function () {});
        return;
      } catch (e) {}
    }
    var q = [];
    for (var k in hit) {
      var v = hit[k];
      if (v === undefined || v === null) continue;
      q.push(encodeURIComponent(k) + "=" + encodeURIComponent(typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    new Image().src = url + "?" + q.join("&");
    if (stored) stored();
  }

  // send sends a hit of counter c. The page's first page view may open a
  // session, and takes its traffic source: the hits that follow it on this
  // page (a queued goal, a purchase already in dataLayer) wait until it is
  // stored, for separate requests race, and a goal that overtook the landing
  // page view would open a direct session of its own and split the visit.
  // They go at the latest after 3 seconds, or when the page is left.
  function send(c, hit) {
    hit.cid = clientID();
    if (navigator.webdriver) hit.wd = true;
    if (c.held) {
      c.held.push(hit);
      return;
    }
    if (hit.t !== "pv" || c.landed || !w.fetch) {
      if (hit.t === "pv") c.landed = true;
      post(c.id, hit);
      return;
    }
    c.landed = true;
    c.held = [];
    var flush = function () {
      var held = c.held;
      if (!held) return;
      c.held = null;
      w.removeEventListener("pagehide", flush);
      for (var i = 0; i < held.length; i++) post(c.id, held[i]);
    };
    w.addEventListener("pagehide", flush);
    w.setTimeout(flush, 3000);
    post(c.id, hit, flush);
  }

  function pageview(c, url, ref, title) {
    send(c, { t: "pv", url: url, ref: ref, title: title });
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
      send(c, { t: "purchase", url: w.location.href, purchase: { id: String(a.id), revenue: revenue, currency: e.currencyCode || "" } });
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
      // The page view first: it opens the session the other hits join.
      if (opts.defer !== true) pageview(c, c.trackHash ? w.location.href : w.location.href.split("#")[0], d.referrer, d.title);
      if (opts.ecommerce) watchDataLayer(c, typeof opts.ecommerce === "string" ? opts.ecommerce : "dataLayer");
      if (opts.userParams) methods.userParams(c, opts.userParams);
      if (opts.params) methods.params(c, opts.params);
      watchHistory(c);
    },
    hit: function (c, url, o) {
      o = o || {};
      pageview(c, new URL(url, w.location.href).href, o.referer || o.referrer || c.last || d.referrer, o.title || d.title);
    },
    reachGoal: function (c, goal, params, cb) {
      if (typeof params === "function") { cb = params; params = undefined; }
      send(c, { t: "goal", goal: String(goal), url: w.location.href, params: params });
      if (cb) cb();
    },
    params: function (c, p) { send(c, { t: "params", url: w.location.href, params: p }); },
    userParams: function (c, p) { send(c, { t: "params", url: w.location.href, params: p }); },
    setUserID: function (c, id) { send(c, { t: "params", url: w.location.href, uid: String(id) }); },
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
