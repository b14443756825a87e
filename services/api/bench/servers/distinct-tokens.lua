-- wrk script for run B: a different token on every request (a full verification each),
-- read from the file named by BENCH_TOKENS_FILE, one per line.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do tokens[#tokens + 1] = line end
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("GET", "/data/read", { ["Authorization"] = "Bearer " .. tokens[(sent - 1) % #tokens + 1] })
end
