// No RQ counterpart (RQ keeps only each worker's successful/failed counts, lost with the worker): the throughput
// counters the finish scripts keep per queue, in the same script that stores each outcome; src/stats.ts reads them.

import { STATS_MINUTES_KEPT } from "../defaults.ts";
import { snippet } from "./_compose.ts";
import { STATS } from "./_key_prefixes.ts";

export const countOutcomes = snippet(
  `
-- rqts' throughput counters of a queue (src/stats.ts reads them): n runs of kind ('f' finished, 'x' failed) that took
-- secs seconds in all (added to t in microseconds: HINCRBY costs less than HINCRBYFLOAT), counted in the epoch minute
-- of now (seconds). Two commands a call (~3 us of Redis CPU), whatever n: a batch finish counts once per outcome kind.
-- The first count of a kind in a minute also folds the minutes older than the ${STATS_MINUTES_KEPT} kept into the
-- totals f, x (once a minute at most, over a hash of at most ${2 * (STATS_MINUTES_KEPT + 1) + 3} fields).
local function count_outcomes(queue, kind, n, secs, now)
  local key = STATS .. queue
  local minute = math.floor(now / 60)
  if redis.call('HINCRBY', key, kind .. ':' .. minute, n) == n then
    local h, old, folded = redis.call('HGETALL', key), {}, { f = 0, x = 0 }
    for i = 1, #h, 2 do
      local k, m = string.match(h[i], '^([fx]):(%d+)$')
      if m and tonumber(m) < minute - ${STATS_MINUTES_KEPT} then
        folded[k] = folded[k] + tonumber(h[i + 1])
        table.insert(old, h[i])
      end
    end
    if #old > 0 then
      redis.call('HDEL', key, unpack(old))
      for k, v in pairs(folded) do if v > 0 then redis.call('HINCRBY', key, k, v) end end
    end
  end
  redis.call('HINCRBY', key, 't', math.floor(tonumber(secs) * 1e6 + 0.5))
end
`,
  STATS,
);
