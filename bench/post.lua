-- wrk script: POSTs the GraphQL body of one shape and counts responses that are not a clean
-- 200 (status != 200, or a body with "errors"), so a fast error path never looks like a win.
--
-- BENCH_BODY_FILE  JSON body to send (for writes: a template with $UMKM $TAHUN $BULAN $OMZET)
-- BENCH_TOKEN      Bearer token (optional)
-- BENCH_WRITE_POOL "token,umkmId;token,umkmId;..." (writes: one owner and UMKM per request)
-- BENCH_MONTHS     "tahun:bulan,tahun:bulan,..." months the writes pick from

local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local template = f:read("*a")
f:close()

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = template

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

if #pool > 0 then
  function request()
    n = n + 1
    local who = pool[(n % #pool) + 1]
    local month = months[math.random(#months)]
    local body = template:gsub("%$UMKM", who[2]):gsub("%$TAHUN", month[1])
      :gsub("%$BULAN", month[2]):gsub("%$OMZET", tostring(math.random(1000000, 90000000)))
    local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. who[1] }
    return wrk.format("POST", nil, headers, body)
  end
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
      io.write("BADBODY " .. sample .. "\n")  -- the first bad answer, for the harness log
    end
  end
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"socket_errors":%d,"non200":%d,"gql_errors":%d,' ..
    '"p50":%d,"p95":%d,"p99":%d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    bad, gql, latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
