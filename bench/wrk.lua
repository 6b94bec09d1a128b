-- wrk script for every HTTP scenario of the benchmark (see bench/loadgen.py).
--
--   wrk ... -s bench/wrk.lua URL -- post  TOKEN TEMPLATES_FILE PATH REF_PREFIX
--   wrk ... -s bench/wrk.lua URL -- paths TOKEN PATHS_FILE
--
-- post:  POST PATH with bodies taken in turn from TEMPLATES_FILE (one JSON order a line,
--        whose order_ref is the marker @@REF@@), each with a unique order_ref
--        REF_PREFIX-<thread>-<counter>, so that every request creates a new order.
-- paths: GET a path picked at random from PATHS_FILE (one a line).
--
-- done() prints one JSON line that the harness parses: requests, 2xx count, non-2xx count,
-- socket errors and latency percentiles in microseconds.

local threads = {}
local counter = 1

function setup(thread)
  -- Runs in the main Lua state, once per wrk thread: number the threads so that order refs
  -- from different threads never collide, and keep them so done() can read their counters.
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if #line > 0 then
      table.insert(lines, line)
    end
  end
  assert(#lines > 0, "no lines in " .. path)
  return lines
end

function init(args)
  mode = args[1]
  local token = args[2]
  ok_count = 0
  bad_count = 0
  headers = {["Authorization"] = "Bearer " .. token}
  math.randomseed(os.time() + thread_id * 7919)
  if mode == "post" then
    headers["Content-Type"] = "application/json"
    post_path = args[4]
    ref_prefix = args[5] .. "-" .. thread_id .. "-"
    -- Split each template once around the marker: a request is then three concatenations.
    heads, tails = {}, {}
    for i, body in ipairs(read_lines(args[3])) do
      local s, e = string.find(body, "@@REF@@", 1, true)
      heads[i] = string.sub(body, 1, s - 1)
      tails[i] = string.sub(body, e + 1)
    end
    -- Start each thread at a different template so the mix differs across connections.
    counter = thread_id * 37
  elseif mode == "paths" then
    paths = read_lines(args[3])
  else
    error("unknown mode " .. tostring(mode))
  end
end

function request()
  if mode == "post" then
    local i = (counter % #heads) + 1
    local body = heads[i] .. ref_prefix .. counter .. tails[i]
    counter = counter + 1
    return wrk.format("POST", post_path, headers, body)
  end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

function response(status, resp_headers, body)
  if status >= 200 and status < 300 then
    ok_count = ok_count + 1
  else
    bad_count = bad_count + 1
    if bad_count <= 3 then
      -- The first few error bodies tell why (a problem+json document); wrk prints to stderr.
      io.stderr:write("HTTP " .. status .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("ok_count")
    bad = bad + t:get("bad_count")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "ok": %d, "non_2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f}\n',
    summary.requests, summary.duration, ok, bad,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
