-- The Redis reference of the benchmark (redis.sh): the same check-and-add
-- as a libquota bucket's consume, on one counter per key.
-- KEYS[1]: the counter; ARGV[1]: the amount; ARGV[2]: the limit.
-- Returns 1 when charged, 0 when the amount does not fit.
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if used + amount > tonumber(ARGV[2]) then
	return 0
end
redis.call('INCRBY', KEYS[1], amount)
return 1
