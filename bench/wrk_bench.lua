-- wrk script of the dashboard benchmark (bench/dashboard.py writes the input files).
--
--   wrk -s bench/wrk_bench.lua URL -- requests FILE MARKER THREADS
--     FILE: one request a line, "METHOD<TAB>PATH<TAB>AUTHORIZATION<TAB>BODY" (the last two
--     may be empty); each request is a random line.
--   wrk -s bench/wrk_bench.lua URL -- submit FILE MARKER THREADS
--     FILE: "BEARER<TAB>METER_ID<TAB>BASE<TAB>PER_DAY<TAB>ORIGIN_EPOCH" a line; each request
--     submits a reading of a random meter: a readAt no other request uses (an hour ago plus
--     a microsecond per request), its value on the meter's line base + per_day * days since
--     origin, so it lies between its neighbours and inside the plausibility band.
--
-- A response is bad when it is not 2xx, its body holds "errors", or it lacks MARKER.
-- done() prints "WRK <key> <value>" lines for the caller.

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

local function read_rows(path)
  local rows = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(rows, split(line))
    end
  end
  return rows
end

function init(args)
  mode, rows, marker, thread_count = args[1], read_rows(args[2]), args[3], tonumber(args[4])
  math.randomseed(os.time() * 1000 + id)
  bad, sample, counter = 0, "", 0
  started = os.time() - 3600
end

local SUBMIT = "mutation($i: SubmitMeterReadingInput!) { submitMeterReading(input: $i) {"
  .. " __typename ... on MeterReadingRefused { reason }"
  .. " ... on MutationError { code } } }"

local function submit(row)
  counter = counter + 1
  local micros = counter * thread_count + id
  local seconds, fraction = started + math.floor(micros / 1000000), micros % 1000000
  local at = seconds + fraction / 1000000
  local value = tonumber(row[3]) + tonumber(row[4]) * (at - tonumber(row[5])) / 86400
  local body = string.format(
    '{"query":"%s","variables":{"i":{"meterId":"%s","value":"%.3f",'
      .. '"clientKey":"wrk-%d-%d-%d","readAt":"%s.%06dZ"}}}',
    SUBMIT, row[2], value, started, id, counter,
    os.date("!%Y-%m-%dT%H:%M:%S", seconds), fraction
  )
  local headers = { ["Authorization"] = row[1], ["Content-Type"] = "application/json" }
  return wrk.format("POST", "/graphql", headers, body)
end

function request()
  local row = rows[math.random(#rows)]
  if mode == "submit" then
    return submit(row)
  end
  local headers, body = {}, nil
  if row[3] ~= "" then
    headers["Authorization"] = row[3]
  end
  if row[4] ~= nil and row[4] ~= "" then
    headers["Content-Type"] = "application/json"
    body = row[4]
  end
  return wrk.format(row[1], row[2], headers, body)
end

function response(status, headers, body)
  local failed = status < 200 or status > 299
    or body:find('"errors"', 1, true) ~= nil
    or body:find(marker, 1, true) == nil
  if failed then
    bad = bad + 1
    if sample == "" then
      sample = status .. " " .. (body:sub(1, 300):gsub("%s+", " "))
    end
  end
end

function done(summary, latency, requests)
  local total_bad, first_sample = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    local s = thread:get("sample")
    if first_sample == "" and s ~= nil then
      first_sample = s
    end
  end
  local e = summary.errors
  local lines = {
    { "requests", summary.requests },
    { "duration_us", summary.duration },
    { "p50_us", latency:percentile(50) },
    { "p90_us", latency:percentile(90) },
    { "p99_us", latency:percentile(99) },
    { "max_us", latency.max },
    { "non_2xx", e.status },
    { "socket_errors", e.connect + e.read + e.write + e.timeout },
    { "bad_responses", total_bad },
  }
  for _, kv in ipairs(lines) do
    io.write(string.format("WRK %s %d\n", kv[1], kv[2]))
  end
  io.write("WRK error_sample " .. first_sample .. "\n")
end
