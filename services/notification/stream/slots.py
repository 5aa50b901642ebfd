"""At most ``STREAM_MAX_PER_USER`` open streams per user, counted across every replica.

Each open stream holds a lease in the user's sorted set ``live:slots:<user id>``
(member: the stream's id, score: when the lease runs out). A stream renews its lease
every few seconds and gives it back when it ends; a server that dies cannot give its
leases back, so they run out after :data:`LEASE_SECONDS` and the user gets the slots
again. Taking a slot drops the expired leases and counts the rest in one script.
"""

from __future__ import annotations

import time
import uuid

import redis
from redis.commands.core import Script

LEASE_SECONDS = 30
RENEW_EVERY = LEASE_SECONDS / 3
KEY_PREFIX = "live:slots:"

# KEYS[1]: the user's leases; ARGV: now, the new lease's end, the limit, its id, key TTL.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
    return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
_take_script = Script(None, _TAKE.encode())  # type: ignore[arg-type]


class Slot:
    """One stream's lease on one of its user's slots."""

    def __init__(self, client: redis.Redis, user_id: int) -> None:
        self.client = client
        self.key = f"{KEY_PREFIX}{user_id}"
        self.lease = uuid.uuid4().hex

    def take(self, limit: int) -> bool:
        """Take a slot; False when the user already holds ``limit`` of them."""
        now = time.time()
        taken = _take_script(
            [self.key],
            [now, now + LEASE_SECONDS, limit, self.lease, LEASE_SECONDS],
            client=self.client,
        )
        return bool(taken)

    def renew(self) -> None:
        """Extend the lease (called every :data:`RENEW_EVERY` seconds by the stream)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(self.key, {self.lease: time.time() + LEASE_SECONDS})
        pipe.expire(self.key, LEASE_SECONDS)
        pipe.execute()

    def release(self) -> None:
        """Give the slot back."""
        self.client.zrem(self.key, self.lease)
