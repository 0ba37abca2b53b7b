-- wrk script: every request asks for a title nobody asked for before (the miss path).
-- Argument: the path prefix, made unique per run by the caller.
local prefix
local n = 0

function init(args)
  prefix = args[1]
end

function request()
  n = n + 1
  return wrk.format("GET", prefix .. n)
end
