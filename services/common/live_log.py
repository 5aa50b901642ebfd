"""The live-update log: every relayed event, in Redis Streams, for the live stream.

The outbox relay (:mod:`services.common.outbox`) appends each event it publishes with
:func:`append`, one atomic script that writes the envelope (secrets redacted, the
client's address left to the audit log) to

- ``live:all``, the whole platform's log, whose id for the event is *the* id: every
  stream server follows it (``XREAD``) and admins resume from it;
- ``live:project:<id>`` when the event has a project, so a member resumes from the
  projects they see;
- ``live:user:<id>`` for every account the event concerns (:func:`account_ids`).

Every log holds the same entry under the same id, so a client's ``Last-Event-ID`` is
one position valid in each of them and a resume is exact. Each log keeps at most
``STREAM_REPLAY_EVENTS`` entries and nothing older than ``STREAM_REPLAY_SECONDS`` (its
key expires that long after its last write). When the count bound drops an entry, the
log's ``:trimmed`` key records the newest id dropped, so :func:`gap_after` can tell a
resume that would miss something from one that would not.

Delivery is at least once, like the relay's: an event relayed twice (a crash between
publishing and marking) appears twice, under two ids, with one ``event_id``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any

import redis
from redis.commands.core import Script

from services.common.redaction import redact

ALL = "live:all"
ENTRY_FIELD = "event"
_ID = re.compile(r"^(\d{1,19})-(\d{1,19})$")

# KEYS[1]: the whole platform's log; KEYS[2..]: the project and account logs.
# ARGV[1]: the envelope (JSON); ARGV[2]: entries kept per log; ARGV[3]: window (ms).
_APPEND = """
local keep = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local function make_room(key)
    local excess = redis.call('XLEN', key) - keep + 1
    if excess > 0 then
        local dropped = redis.call('XRANGE', key, '-', '+', 'COUNT', excess)
        redis.call('SET', key .. ':trimmed', dropped[#dropped][1], 'PX', window)
    end
end
local function add(key, id)
    make_room(key)
    local added = redis.pcall('XADD', key, 'MAXLEN', keep, id, 'event', ARGV[1])
    if type(added) == 'table' and added.err then
        return nil
    end
    local cutoff = tonumber(string.match(added, '^(%d+)-')) - window
    if cutoff > 0 then
        redis.call('XTRIM', key, 'MINID', cutoff)
    end
    redis.call('PEXPIRE', key, window)
    return added
end
local id = add(KEYS[1], '*')
for i = 2, #KEYS do
    add(KEYS[i], id)
end
return id
"""
# Sent by its SHA-1 (EVALSHA), the text only when the server does not know it yet.
_append_script = Script(None, _APPEND.encode())  # type: ignore[arg-type]


def project_log(project_id: int) -> str:
    return f"live:project:{project_id}"


def user_log(user_id: int) -> str:
    return f"live:user:{user_id}"


def account_ids(envelope: dict[str, Any]) -> set[int]:
    """The accounts an event concerns: its actor, the user it is about (``entity`` of
    type user), the member a membership event names (``data.user_id``) and the
    requester of a report (``data.requester_id``)."""
    found = set()
    actor = envelope.get("actor")
    if isinstance(actor, dict) and isinstance(actor.get("id"), int):
        found.add(actor["id"])
    entity = envelope.get("entity") or {}
    if entity.get("type") == "user" and isinstance(entity.get("id"), int):
        found.add(entity["id"])
    data = envelope.get("data")
    if isinstance(data, dict):
        for key in ("user_id", "requester_id"):
            if isinstance(data.get(key), int) and not isinstance(data.get(key), bool):
                found.add(data[key])
    return found


def shareable(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope as the stream shows it: secrets redacted (a password-reset token),
    without the client's address and user agent (``meta``, for the audit log only)."""
    shown = {key: value for key, value in redact(envelope).items() if key != "meta"}
    if isinstance(shown.get("data"), dict):
        shown["data"] = {key: value for key, value in shown["data"].items() if key != "meta"}
    return shown


def append(client: redis.Redis, envelope: dict[str, Any], keep: int, window_seconds: int) -> str:
    """Append an event to the logs it belongs in; its id in them."""
    keys = [ALL]
    if isinstance(envelope.get("project_id"), int):
        keys.append(project_log(envelope["project_id"]))
    keys += [user_log(user_id) for user_id in sorted(account_ids(envelope))]
    payload = json.dumps(shareable(envelope), separators=(",", ":"))
    entry_id = _append_script(keys, [payload, keep, window_seconds * 1000], client=client)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def parse_id(text: str) -> tuple[int, int] | None:
    """A log id (``<ms>-<seq>``) as a comparable pair, or None if it is not one."""
    match = _ID.match(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def id_of_time(seconds: float) -> tuple[int, int]:
    """The first id a log could give an event at this Unix time."""
    return (int(seconds * 1000), 0)


def format_id(entry_id: tuple[int, int]) -> str:
    return f"{entry_id[0]}-{entry_id[1]}"


def latest_id(client: redis.Redis) -> tuple[int, int]:
    """The id of the platform's newest event (``0-0`` for an empty log)."""
    newest = client.xrevrange(ALL, count=1)
    return parse_id(newest[0][0].decode()) if newest else (0, 0)  # type: ignore[return-value]


def gap_after(client: redis.Redis, keys: Iterable[str], after: tuple[int, int]) -> bool:
    """Whether any of the logs dropped an entry newer than ``after`` (its count bound)."""
    markers = client.mget([f"{key}:trimmed" for key in keys])
    return any(m is not None and parse_id(m.decode()) > after for m in markers)  # type: ignore[operator]


def read_after(
    client: redis.Redis, key: str, after: tuple[int, int], up_to: tuple[int, int], count: int
) -> list[tuple[tuple[int, int], str]]:
    """Up to ``count`` entries of one log with ids in (``after``, ``up_to``], oldest
    first, each as (id, the envelope as JSON text)."""
    entries = client.xrange(key, min=f"({format_id(after)}", max=format_id(up_to), count=count)
    return [
        (parse_id(entry_id.decode()), fields[ENTRY_FIELD.encode()].decode())  # type: ignore[misc]
        for entry_id, fields in entries
    ]


def now_id() -> tuple[int, int]:
    """The id a log would give an event now (by this host's clock)."""
    return id_of_time(time.time())
