//! The Lua scripts, run atomically by Redis. Every script reads Redis's own clock (`TIME`, in
//! microseconds), so no worker's clock takes part. Times stored in keys are microseconds since
//! the epoch on that clock.

use std::sync::LazyLock;

use redis::Script;

/// GCRA draw. KEYS: the bucket's theoretical arrival time, its pause. ARGV: the emission
/// interval and the burst tolerance (interval x (burst - 1)), in µs. Returns 0 when a token
/// was taken, else the µs to wait before trying again (the pause's end, or the next token).
pub static DRAW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allowed_at = tat - tolerance
if allowed_at > now then return math.max(1, allowed_at - now) end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return 0
",
    )
});

/// Pause a bucket. KEYS: its pause. ARGV: the pause's length in µs. A longer pause already on
/// wins. Returns the µs until the pause ends.
pub static PAUSE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wanted = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if wanted > paused then
  redis.call('SET', KEYS[1], string.format('%.0f', wanted), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
  paused = wanted
end
return paused - now
",
    )
});

/// Take a lease. KEYS: the lease, the pipeline's fencing counter. ARGV: the holder's name, the
/// TTL in ms. Returns the new fencing token, or 0 when another holder has it.
pub static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', tonumber(ARGV[2]))
return token
",
    )
});

/// Renew a lease. KEYS: the lease. ARGV: `holder#token`, the TTL in ms. Returns 1, or 0 when
/// the lease is no longer this holder's (it expired and maybe another took it).
pub static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
",
    )
});

/// Give a lease back. KEYS: the lease. ARGV: `holder#token`. Returns 1 if it was still this
/// holder's.
pub static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
",
    )
});
