-- wrk script for bench/soak.py: a mixed load. Each request picks, by weight, one of
-- (a) the public catalogue, (c) an owner's businesses, (b) the official dashboard or (e) a write,
-- and counts answers that are not a clean 200 as post.lua does.
--
-- BENCH_MIX          "a:35,c:35,b:20,e:10" (weights)
-- BENCH_BODY_<K>     JSON body file of shape K (for e: the template of post.lua)
-- BENCH_TOKEN_<K>    Bearer token for shape K (optional)
-- BENCH_WRITE_POOL / BENCH_MONTHS as in post.lua (writes)

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local kinds, total = {}, 0
for key, weight in string.gmatch(os.getenv("BENCH_MIX") or "", "(%a):(%d+)") do
  total = total + tonumber(weight)
  table.insert(kinds, {
    key = key,
    upto = total,
    body = read(os.getenv("BENCH_BODY_" .. string.upper(key))),
    token = os.getenv("BENCH_TOKEN_" .. string.upper(key)) or "",
  })
end

local pool = {}
for entry in string.gmatch(os.getenv("BENCH_WRITE_POOL") or "", "[^;]+") do
  local tok, umkm = string.match(entry, "([^,]+),([^,]+)")
  table.insert(pool, { tok, umkm })
end
local months = {}
for entry in string.gmatch(os.getenv("BENCH_MONTHS") or "", "[^,]+") do
  local y, m = string.match(entry, "(%d+):(%d+)")
  table.insert(months, { y, m })
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

non200 = 0
gql_errors = 0
first_bad = ""
local n = 0

function request()
  n = n + 1
  local r = math.random(total)
  local kind = kinds[#kinds]
  for _, k in ipairs(kinds) do
    if r <= k.upto then
      kind = k
      break
    end
  end
  local headers = { ["Content-Type"] = "application/json" }
  local body = kind.body
  if kind.key == "e" then
    local who = pool[(n % #pool) + 1]
    local month = months[math.random(#months)]
    body = body:gsub("%$UMKM", who[2]):gsub("%$TAHUN", month[1])
      :gsub("%$BULAN", month[2]):gsub("%$OMZET", tostring(math.random(1000000, 90000000)))
    headers["Authorization"] = "Bearer " .. who[1]
  elseif kind.token ~= "" then
    headers["Authorization"] = "Bearer " .. kind.token
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  local bad = false
  if status ~= 200 then
    non200 = non200 + 1
    bad = true
  elseif string.find(body, '"errors"', 1, true) then
    gql_errors = gql_errors + 1
    bad = true
  end
  if bad and first_bad == "" then
    first_bad = status .. " " .. string.sub(string.gsub(body or "", "[\r\n]", " "), 1, 400)
  end
end

function done(summary, latency, requests)
  local bad, gql = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    gql = gql + (t:get("gql_errors") or 0)
    local sample = t:get("first_bad") or ""
    if sample ~= "" then
      io.write("BADBODY " .. sample .. "\n")
    end
  end
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"socket_errors":%d,"non200":%d,"gql_errors":%d,' ..
    '"p50":%d,"p95":%d,"p99":%d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    bad, gql, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
