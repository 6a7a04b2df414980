-- The tag's hits for wrk: `crmlink-bench collect --loader wrk` runs wrk
-- with this script, the tool GoatCounter's reference figure was measured
-- with (docs/benchmarks.md). It sends what collect's own
-- generator sends, written for wrk's LuaJIT: visitors with their own
-- ClientIDs and user agents; visits that land from search, ads with UTM
-- and yclid, social networks, mail and links; page views inside the site,
-- goals and purchases; 3% by the GIF fallback's GET.
--
-- Every answered 2xx hit leaves exactly one countable fact: a page view in
-- its session, a goal reach, or a purchase (ids unique). The bench counts
-- them in the store afterwards. done prints one line the bench reads:
--   crmlink-wrk requests=N status=N timeout=N connect=N read=N write=N
--     sent_pv=N sent_goal=N sent_purchase=N p50=µs p99=µs max=µs
--
-- Arguments (after wrk's --): counter site clients seed threads.

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("tid", #threads)
end

local user_agents = {
   {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 22},
   {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36", 10},
   {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 4},
   {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 5},
   {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 16},
   {"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 20},
   {"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", 5},
   {"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 3},
   {"Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", 1},
}
local categories = {"phones", "laptops", "tv", "audio", "kitchen", "garden", "toys", "books", "sport", "beauty"}
local queries = {"%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C+%D1%81%D0%BC%D0%B0%D1%80%D1%82%D1%84%D0%BE%D0%BD", "laptop", "tv+55", "headphones"}
local goals = {"add_to_cart", "callback", "form_submit", "phone_click", "subscribe", "chat_open"}

local path, site, visitors, headers, gif_headers
local purchases = 0
-- Globals, for done to read through thread:get.
sent_pv, sent_goal, sent_purchase = 0, 0, 0

local function pick(list) return list[math.random(#list)] end

local function escape(s)
   return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function json_string(s)
   return '"' .. string.gsub(s, '["\\]', "\\%0") .. '"'
end

function init(args)
   local counter, clients, seed, nthreads = args[1], tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
   site = args[2]
   path = "/collect/" .. counter
   math.randomseed(seed * 1000 + tid)
   local total = 0
   for _, u in ipairs(user_agents) do total = total + u[2] end
   headers, gif_headers = {}, {}
   for i, u in ipairs(user_agents) do
      headers[i] = {["User-Agent"] = u[1], ["Origin"] = "https://" .. site,
         ["Accept-Language"] = "ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7",
         ["Content-Type"] = "text/plain;charset=UTF-8"}
      gif_headers[i] = {["User-Agent"] = u[1], ["Accept-Language"] = "ru-RU,ru;q=0.9"}
   end
   -- This thread's visitors: ClientIDs as Metrica's, the first visit's Unix
   -- time then digits; the thread's number keeps them apart from the
   -- other threads'.
   visitors = {}
   local per = math.max(1, math.floor(clients / nthreads))
   for i = 1, per do
      local r, ua = math.random(total), 1
      for j, u in ipairs(user_agents) do
         r = r - u[2]
         if r <= 0 then ua = j break end
      end
      visitors[i] = {cid = string.format("%d%02d%07d", 1690000000 + math.random(0, 7000000), tid, i),
         ua = ua, left = 0, page = ""}
   end
end

local function page()
   local base = "https://" .. site
   local r = math.random(100)
   if r <= 15 then return base .. "/" end
   if r <= 40 then return base .. "/catalog/" .. pick(categories) .. "/?page=" .. math.random(5) end
   if r <= 85 then return base .. "/item/" .. math.random(10000, 59999) .. "-" .. pick(categories) end
   if r <= 92 then return base .. "/search?q=" .. pick(queries) end
   if r <= 96 then return base .. "/cart" end
   return base .. "/blog/" .. math.random(0, 299)
end

local function landing()
   local p, ref = page(), ""
   local sep = string.find(p, "?", 1, true) and "&" or "?"
   local r = math.random(100)
   if r <= 16 then ref = "https://yandex.ru/search/?text=" .. pick(queries) .. "&lr=213"
   elseif r <= 28 then ref = "https://www.google.com/"
   elseif r <= 30 then ref = "https://www.bing.com/"
   elseif r <= 42 then
      p = p .. sep .. "utm_source=yandex&utm_medium=cpc&utm_campaign=" .. pick(categories) .. "_search&utm_content=" ..
         math.random(0, 999) .. "&yclid=" .. math.random(100000000, 999999999) .. math.random(1000000, 9999999)
      ref = "https://yandex.ru/"
   elseif r <= 46 then
      p = p .. sep .. "utm_source=google&utm_medium=cpc&utm_campaign=brand&gclid=Cj0KCQjw" .. math.random(100000000, 999999999)
      ref = "https://www.google.com/"
   elseif r <= 50 then p = p .. sep .. "utm_source=newsletter&utm_medium=email&utm_campaign=weekly_" .. math.random(0, 51)
   elseif r <= 55 then ref = "https://vk.com/"
   elseif r <= 58 then ref = "https://t.me/"
   elseif r <= 60 then ref = "https://dzen.ru/a/" .. math.random(100000000, 999999999)
   elseif r <= 67 then ref = pick({"https://habr.com/ru/articles/", "https://pikabu.ru/story/", "https://otzovik.com/reviews/"}) .. math.random(0, 899999)
   end
   return p, ref
end

function request()
   local v = visitors[math.random(#visitors)]
   local fields -- name, value pairs
   if v.left <= 0 then
      local p, ref = landing()
      v.left, v.page = math.random(8), p
      fields = {"t", "pv", "url", p, "ref", ref, "title", "Shop - " .. pick(categories)}
      sent_pv = sent_pv + 1
   else
      local r = math.random(100)
      if r <= 8 then
         fields = {"t", "goal", "url", v.page, "goal", pick(goals)}
         sent_goal = sent_goal + 1
      elseif r <= 10 then
         purchases = purchases + 1
         fields = {"t", "purchase", "url", "https://" .. site .. "/checkout/thanks",
            "purchase", string.format('{"id":"W%d-%d","revenue":%d.9,"currency":"RUB"}', tid, purchases, math.random(500, 50499))}
         sent_purchase = sent_purchase + 1
      else
         local p = page()
         fields = {"t", "pv", "url", p, "ref", v.page, "title", "Shop - " .. pick(categories)}
         v.page = p
         sent_pv = sent_pv + 1
      end
      v.left = v.left - 1
   end
   if math.random(100) <= 3 then
      -- The GIF fallback of browsers without sendBeacon.
      local q = {"cid=" .. v.cid}
      for i = 1, #fields, 2 do q[#q + 1] = fields[i] .. "=" .. escape(fields[i + 1]) end
      return wrk.format("GET", path .. "?" .. table.concat(q, "&"), gif_headers[v.ua], nil)
   end
   local b = {'{"cid":"', v.cid, '"'}
   for i = 1, #fields, 2 do
      local value = fields[i + 1]
      if fields[i] ~= "purchase" then value = json_string(value) end
      b[#b + 1] = ',"' .. fields[i] .. '":' .. value
   end
   b[#b + 1] = "}"
   return wrk.format("POST", path, headers[v.ua], table.concat(b))
end

function done(summary, latency, requests)
   local pv, goal, purchase = 0, 0, 0
   for _, t in ipairs(threads) do
      pv = pv + t:get("sent_pv")
      goal = goal + t:get("sent_goal")
      purchase = purchase + t:get("sent_purchase")
   end
   local e = summary.errors
   io.write(string.format("crmlink-wrk requests=%d status=%d timeout=%d connect=%d read=%d write=%d sent_pv=%d sent_goal=%d sent_purchase=%d p50=%d p99=%d max=%d duration=%d\n",
      summary.requests, e.status, e.timeout, e.connect, e.read, e.write, pv, goal, purchase,
      latency:percentile(50), latency:percentile(99), latency.max, summary.duration))
end
