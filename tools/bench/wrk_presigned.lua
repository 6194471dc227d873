-- wrk_presigned.lua: wrk sends the pre-signed requests written by
-- //tools/bench:presign_webhooks, each exactly once, in file order.
--
--   wrk -t1 -c64 -d30s --timeout 30s -s tools/bench/wrk_presigned.lua \
--       http://127.0.0.1:PORT -- REQUEST_FILE LABEL AVG_BODY_BYTES CLK_TCK
--
-- No JSON and no HMAC while measuring: each request() reads the next framed
-- request ("<byte count>\n<request bytes>") from the file (page cache). If the
-- file runs out before the run ends, the thread stops, a non-2xx probe is sent
-- instead and the RESULT line says exhausted=1 (the figure is then invalid:
-- write more requests). Prints one machine-readable line at the end:
--   RESULT label=... ok=... non2xx=... errors=... seconds=... req_per_s=...
--          mb_per_s=... p50_ms=... p90_ms=... p99_ms=... max_ms=...
--          gen_cpu_pct=... exhausted=0|1
-- gen_cpu_pct is wrk's own utime+stime (/proc/self/stat, all its threads)
-- from setup to the end of the run, as % of one core.

threads = {}

local function cpu_ticks()
  local f = assert(io.open("/proc/self/stat", "r"))
  local stat = f:read("*a")
  f:close()
  -- Fields after "(comm) " start at field 3; utime and stime are fields 14, 15.
  local rest = stat:match("^.*%) (.*)$")
  local fields = {}
  for v in rest:gmatch("%S+") do fields[#fields + 1] = v end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function setup(thread)
  table.insert(threads, thread)
  if cpu0 == nil then cpu0 = cpu_ticks() end
end

-- Per thread (each thread has its own Lua state).
sent = 0
exhausted = 0
local file

function init(args)
  if #args < 4 then
    error("usage: -- REQUEST_FILE LABEL AVG_BODY_BYTES CLK_TCK")
  end
  file = assert(io.open(args[1], "rb"))
  label = args[2]
  avg_body = tonumber(args[3])
  clk_tck = tonumber(args[4])
end

function request()
  local header = file:read("*l")
  if header ~= nil then
    local req = file:read(tonumber(header))
    if req ~= nil then
      sent = sent + 1
      return req
    end
  end
  exhausted = 1
  wrk.thread:stop()
  return "GET /presigned-requests-exhausted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
end

function done(summary, latency, requests)
  local cpu_seconds = (cpu_ticks() - cpu0) / tonumber(threads[1]:get("clk_tck"))
  local seconds = summary.duration / 1e6
  local ex = 0
  for _, t in ipairs(threads) do ex = math.max(ex, t:get("exhausted")) end
  local e = summary.errors
  local non2xx = e.status
  local ok = summary.requests - non2xx
  local avg = tonumber(threads[1]:get("avg_body"))
  io.write(string.format(
      "RESULT label=%s ok=%d non2xx=%d errors=%d seconds=%.3f req_per_s=%.1f mb_per_s=%.3f " ..
      "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f gen_cpu_pct=%.1f exhausted=%d\n",
      threads[1]:get("label"), ok, non2xx, e.connect + e.read + e.write + e.timeout, seconds,
      ok / seconds, ok * avg / seconds / 1e6, latency:percentile(50) / 1e3,
      latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
      cpu_seconds * 100 / seconds, ex))
end
