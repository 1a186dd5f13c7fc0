-- wrk script used by bench/run.ts for every target (the same script for the agent and its peers).
--
--   wrk ... -s bench/wrk/rotate.lua <url> -- <manifest> [timestamp base ms]
--
-- The manifest (written by the harness) has one request per line: METHOD<TAB>PATH<TAB>BODY-FILE,
-- after a first line that holds the Content-Type. Requests are sent round-robin, each connection
-- continuing where the last request of the thread left off. A body file that contains the marker
-- @TS@ gets a nanosecond timestamp there: the same for every line of one request, one millisecond
-- later for each request, so every series sees increasing timestamps, as from a real client.
--
-- Prints one line `BENCH_RESULT {json}` from done(): counts, latency percentiles, status codes and
-- the first few error responses (status and body), so failures are reported, not just counted.

local MARKER = "@TS@"

local requests = {} -- either a prebuilt request string or { method, path, parts }
local n = 0
local idx = 0
local ts_ms = 0
local content_type = "application/octet-stream"

-- Read back by done() through thread:get().
codes = {}
failures = {}
nfailures = 0

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot open " .. path .. ": " .. tostring(err)) end
  local s = f:read("*a")
  f:close()
  return s
end

local function split(s, sep)
  local parts, start = {}, 1
  while true do
    local i, j = string.find(s, sep, start, true)
    if not i then
      parts[#parts + 1] = string.sub(s, start)
      return parts
    end
    parts[#parts + 1] = string.sub(s, start, i - 1)
    start = j + 1
  end
end

function init(args)
  local manifest = args[1]
  if not manifest then error("usage: -- <manifest> [timestamp base ms]") end
  ts_ms = tonumber(args[2] or "0") or 0
  local first = true
  for line in io.lines(manifest) do
    if first then
      content_type = line
      first = false
    elseif line ~= "" then
      local method, path, file = string.match(line, "^(%S+)\t(%S+)\t(.+)$")
      if not method then error("bad manifest line: " .. line) end
      local body = read_file(file)
      local headers = { ["Content-Type"] = content_type }
      if string.find(body, MARKER, 1, true) then
        requests[#requests + 1] = { method = method, path = path, parts = split(body, MARKER), headers = headers }
      else
        requests[#requests + 1] = wrk.format(method, path, headers, body)
      end
    end
  end
  n = #requests
  if n == 0 then error("manifest " .. manifest .. " lists no requests") end
end

function request()
  idx = idx + 1
  if idx > n then idx = 1 end
  local r = requests[idx]
  if type(r) == "string" then return r end
  ts_ms = ts_ms + 1
  local body = table.concat(r.parts, string.format("%.0f000000", ts_ms))
  return wrk.format(r.method, r.path, r.headers, body)
end

function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
  if status >= 400 then
    nfailures = nfailures + 1
    if nfailures <= 3 then failures[nfailures] = tostring(status) .. " " .. string.sub(body or "", 1, 300) end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, _)
  local all_codes, all_failures = {}, {}
  for _, t in ipairs(threads) do
    local c = t:get("codes") or {}
    for k, v in pairs(c) do all_codes[k] = (all_codes[k] or 0) + v end
    local f = t:get("failures") or {}
    for _, v in ipairs(f) do
      if #all_failures < 3 then all_failures[#all_failures + 1] = v end
    end
  end
  local code_items = {}
  for k, v in pairs(all_codes) do code_items[#code_items + 1] = json_string(tostring(k)) .. ":" .. string.format("%d", v) end
  local failure_items = {}
  for _, v in ipairs(all_failures) do failure_items[#failure_items + 1] = json_string(v) end
  local e = summary.errors
  local out = {
    '"duration_us":' .. string.format("%d", summary.duration),
    '"requests":' .. string.format("%d", summary.requests),
    '"bytes":' .. string.format("%d", summary.bytes),
    '"errors":{"connect":' .. e.connect .. ',"read":' .. e.read .. ',"write":' .. e.write .. ',"status":' .. e.status .. ',"timeout":' .. e.timeout .. "}",
    '"latency_us":{"mean":' .. string.format("%.1f", latency.mean) .. ',"p50":' .. latency:percentile(50) .. ',"p90":' .. latency:percentile(90) .. ',"p99":' .. latency:percentile(99) .. ',"max":' .. latency.max .. "}",
    '"codes":{' .. table.concat(code_items, ",") .. "}",
    '"failures":[' .. table.concat(failure_items, ",") .. "]",
  }
  io.write("BENCH_RESULT {" .. table.concat(out, ",") .. "}\n")
end
