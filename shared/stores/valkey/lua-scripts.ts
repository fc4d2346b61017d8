import {createHash} from 'node:crypto';

/**
 * The Lua scripts, one per operation, so each operation is one round trip and every judgement of
 * time is made on the server's clock (`TIME`). Sent by SHA-1 (EVALSHA) and by source only when the
 * server answers NOSCRIPT (a restart, a failover, SCRIPT FLUSH): see valkey-calls.ts.
 *
 * A lock's value is JSON: `t` the token, `s` the server's time of the last sign of life (grant or
 * renewal) in ms, `f` the grant's fence, `l` the lease and `st` the holder's own steal time in ms,
 * `id` the identifier, and `a`/`rn` the holder's host times of grant and renewal (for people).
 * The key expires `grace` ms after the lease ends (or after the holder's own steal time, as on
 * memcached), so an expired lease stays visible, and releasable, for a moment; without either it
 * never expires.
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, source: string): LuaScript {
  return {name, source, sha: createHash('sha1').update(source).digest('hex')};
}

/** Shared head of the scripts: the server's time in ms, a tolerant decode, and the key's time to live. */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function decode(value)
  local ok, held = pcall(cjson.decode, value)
  if ok and type(held) == 'table' and type(held.t) == 'string' and type(held.s) == 'number' then
    return held
  end
  return nil
end
local function ttl_of(held, grace)
  if held.l then return held.l + grace end
  if held.st then return held.st + grace end
  return nil
end
local function store(key, held, grace)
  local value = cjson.encode(held)
  local ttl = ttl_of(held, grace)
  if ttl then
    redis.call('SET', key, value, 'PX', math.floor(ttl))
  else
    redis.call('SET', key, value)
  end
  return value
end
`;

/**
 * KEYS: lock, fence. ARGV: token, identifier, host ms, leaseMs|'', stealAfterMs|'' (the one the
 * grant keeps, and the one this taker judges the current holder by, as on every store), grace ms. Replies {1, value, takeover|''} for a grant (the fence INCRemented in
 * the same script, so it strictly increases while the server keeps its data), or {0, value|false,
 * pttl} while someone (or this token, from an earlier try) holds it: PTTL is when the key goes.
 */
export const ACQUIRE = script(
  'acquire',
  `${PRELUDE}
local now = now_ms()
local current = redis.call('GET', KEYS[1])
local takeover = ''
if current then
  local held = decode(current)
  if not held or held.t == ARGV[1] then
    return {0, current, redis.call('PTTL', KEYS[1])}
  end
  local since = now - held.s
  if held.l then
    if since <= held.l then return {0, current, redis.call('PTTL', KEYS[1])} end
    takeover = 'lease_expired'
  elseif ARGV[5] ~= '' and since > tonumber(ARGV[5]) then
    takeover = 'stolen'
  else
    return {0, current, redis.call('PTTL', KEYS[1])}
  end
end
local fence = redis.call('INCR', KEYS[2])
local value = store(KEYS[1], {
  t = ARGV[1], id = ARGV[2], a = tonumber(ARGV[3]), s = now,
  f = string.format('%d', fence), l = tonumber(ARGV[4]), st = tonumber(ARGV[5])
}, tonumber(ARGV[6]))
return {1, value, takeover}
`,
);

/** KEYS: lock. ARGV: token, channel. Deletes only this token's lock, and tells the waiters. */
export const RELEASE = script(
  'release',
  `${PRELUDE}
local current = redis.call('GET', KEYS[1])
if not current then return 'absent' end
local held = decode(current)
if not held or held.t ~= ARGV[1] then return 'not_holder' end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'released')
return 'released'
`,
);

/**
 * KEYS: lock. ARGV: token, host ms, leaseMs|'', grace ms. The last sign of life becomes the
 * server's now; the fence and the grant stay. Replies the new value, or false.
 */
export const RENEW = script(
  'renew',
  `${PRELUDE}
local current = redis.call('GET', KEYS[1])
if not current then return false end
local held = decode(current)
if not held or held.t ~= ARGV[1] then return false end
held.s = now_ms()
held.rn = tonumber(ARGV[2])
if ARGV[3] ~= '' then held.l = tonumber(ARGV[3]) end
return store(KEYS[1], held, tonumber(ARGV[4]))
`,
);

/**
 * KEYS: lock. A waiter's look at the lock, for its timers: {value|false, server ms}. Read-only;
 * judged against the server's clock like the other scripts.
 */
export const STATE = script(
  'state',
  `${PRELUDE}
return {redis.call('GET', KEYS[1]), now_ms()}
`,
);
