-- One wrk script for every workload: BENCH_WORKLOAD picks the GraphQL request, and every
-- answer is sorted into ok / refused (a payload error) / failed (HTTP or GraphQL error).
-- wrk runs each thread in its own Lua state: counts are gathered in done().

local workload = os.getenv("BENCH_WORKLOAD") or "read"
local run = os.getenv("BENCH_RUN") or "run"
local spread = tonumber(os.getenv("BENCH_SPREAD") or "1000")
local key = os.getenv("BENCH_KEY") or ""

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local READ = '{"query":"query ByCode($c: String!) { couponByCode(code: $c) { id code status '
  .. 'discountType discountValue maxDiscountAmount minOrderValue currentTotalUses validUntil } }",'
  .. '"variables":{"c":"BENCH-HOT"}}'

local NESTED = '{"query":"query Nested { activeCampaigns(first: 50) { totalCount edges { node { '
  .. 'code status usages(first: 5) { totalCount edges { node { orderId discountApplied '
  .. 'usedAt } } } } } } }"}'

local REDEEM = '{"query":"mutation Redeem($i: RedeemCouponInput!) { redeemCoupon(input: $i) '
  .. '{ usage { id } discountAmount finalAmount errors { code } } }",'
  .. '"variables":{"i":{"code":"%s","userId":"%s","orderId":"%s","orderValue":"50.00",'
  .. '"ipAddress":"198.51.100.7"}}}'

function init(args)
  n = 0
  ok = 0
  refused = 0
  failed = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. key
  end
end

function request()
  n = n + 1
  if workload == "read" then
    return wrk.format(nil, "/graphql", nil, READ)
  elseif workload == "nested" then
    return wrk.format(nil, "/graphql", nil, NESTED)
  end
  local code = "BENCH-HOT"
  if workload == "spread" then
    code = string.format("BENCH-S%04d", (n * 7919 + id * 104729) % spread)
  end
  local who = string.format("%s-%s-%d-%d", run, workload, id, n)
  return wrk.format(nil, "/graphql", nil, string.format(REDEEM, code, who, who))
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors":[{"message"', 1, true) or body:find('^{"errors"') then
    failed = failed + 1
  elseif body:find('"errors":[{', 1, true) then
    refused = refused + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local totals = { ok = 0, refused = 0, failed = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"ok":%d,"refused":%d,"failed":%d,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, totals.ok, totals.refused, totals.failed,
    e.connect + e.read + e.write + e.timeout, e.status))
end
