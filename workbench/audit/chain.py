"""The hash chain: a canonical encoding of each event, its SHA-256, and the walk that checks them.

Encoding v2 (every event appended by schema 2 or later): the UTF-8 bytes of a JSON array, without
whitespace, of the fields in `CHAIN_FIELDS` order (`seq` first, `prev_hash` last); `hash` is the
lower-case hex SHA-256 of those bytes. An array in a fixed order needs no key sorting, so it is both
unambiguous and fast to re-walk. Encoding v1 (events written by schema 1) hashed `prev_hash` + a JSON
object of the fields with sorted keys; those rows keep verifying under v1 (see `chain_v2_from`).

Each check is local to a row and its predecessor (its content matches its hash; its `prev_hash` is the
hash of the row before), so a broken chain is located exactly and the walk can be split into ranges.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

GENESIS = "0" * 64

# Column order of the encoding; the events table's SELECT for verification uses the same order + hash.
CHAIN_FIELDS = (
    "seq", "id", "ts", "actor", "host", "workbench_version", "git_commit", "git_dirty", "kind", "subject",
    "run_id", "data_version", "fingerprint", "params", "outcome", "prev_hash",
)
_V1_FIELDS = tuple(sorted(
    ("id", "ts", "actor", "host", "workbench_version", "git_commit", "git_dirty", "kind", "subject", "run_id",
     "data_version", "fingerprint", "params", "outcome")
))
_V1_INDEX = tuple(CHAIN_FIELDS.index(f) for f in _V1_FIELDS)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_encode_v1 = json.JSONEncoder(separators=(",", ":")).encode
_sha256 = hashlib.sha256


def canonical_bytes(values: Sequence[Any]) -> bytes:
    """The v2 encoding of one event given its values in `CHAIN_FIELDS` order."""
    return _encode(list(values)).encode("utf-8")


def event_hash(values: Sequence[Any]) -> str:
    """SHA-256 (hex) of an event's values in `CHAIN_FIELDS` order (v2)."""
    return _sha256(_encode(list(values)).encode("utf-8")).hexdigest()


def event_hash_v1(values: Sequence[Any]) -> str:
    """The schema-1 hash, kept so logs written before schema 2 still verify."""
    body = _encode_v1({f: values[i] for f, i in zip(_V1_FIELDS, _V1_INDEX)})
    return _sha256((values[-1] + body).encode()).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """Where and how the chain first breaks. `kind`: edited, deleted, inserted, reordered, truncated, foreign."""

    seq: int
    kind: str
    message: str


@dataclass(frozen=True)
class WalkResult:
    count: int
    head_seq: int
    head_hash: str
    problem: ChainProblem | None


def walk(
    rows: Iterable[Sequence[Any]],
    *,
    start_seq: int = 1,
    start_prev: str = GENESIS,
    v2_from: int = 1,
    find_hash: Callable[[str], int | None] = lambda h: None,
    label: Callable[[int], str] = lambda seq: f"#{seq}",
) -> WalkResult:
    """Check rows given as `CHAIN_FIELDS` values + stored hash, in seq order.

    `find_hash(h)` returns the seq of the row whose hash is `h` (or None); it is only called once the
    chain is already broken, to tell a reordering from a deletion.
    """
    prev, prev2 = start_prev, None
    expected = start_seq
    count = 0
    for row in rows:
        seq, stored = row[0], row[-1]
        values = row[:-1]
        if seq != expected:
            if seq > expected:
                missing = f"{label(expected)}" if seq == expected + 1 else f"{label(expected)}–{label(seq - 1)}"
                return WalkResult(count, expected - 1, prev, ChainProblem(
                    expected, "deleted", f"event {missing} is missing (deleted)"))
            return WalkResult(count, expected - 1, prev, ChainProblem(seq, "inserted", f"event {label(seq)} appears twice"))
        computed = event_hash(values) if seq >= v2_from else event_hash_v1(values)
        if computed != stored:
            return WalkResult(count, seq - 1, prev, _mismatch(values, stored, seq, v2_from, label))
        linked = values[-1]
        if linked != prev:
            if prev2 is not None and linked == prev2:
                problem = ChainProblem(seq - 1, "inserted",
                                       f"event {label(seq - 1)} was inserted: {label(seq)} links past it")
            else:
                found = find_hash(linked)
                if found is not None and found >= seq:
                    problem = ChainProblem(seq, "reordered",
                                           f"event {label(seq)} is out of order: it belongs after {label(found)}")
                elif seq == start_seq:
                    problem = ChainProblem(seq, "foreign",
                                           f"event {label(seq)} does not continue the previous log or archive")
                else:
                    problem = ChainProblem(seq, "deleted", f"event {label(seq)} does not follow {label(seq - 1)}: "
                                           f"an event between them was deleted or {label(seq - 1)} was replaced")
            return WalkResult(count, seq - 1, prev, problem)
        prev2, prev = prev, stored
        expected = seq + 1
        count += 1
    return WalkResult(count, expected - 1, prev, None)


def _mismatch(values: Sequence[Any], stored: str, seq: int, v2_from: int, label: Callable[[int], str]) -> ChainProblem:
    """Why a row does not match its hash: renumbered (an insertion or deletion before it) or edited."""
    if seq >= v2_from:
        for shift, kind in ((-1, "inserted"), (1, "deleted")):
            if event_hash([seq + shift, *values[1:]]) == stored:
                what = (f"an event was inserted before {label(seq)}" if kind == "inserted"
                        else f"an event before {label(seq)} was deleted")
                return ChainProblem(seq - 1 if kind == "inserted" else seq, kind,
                                    f"{what} (later events were renumbered to hide it)")
    return ChainProblem(seq, "edited", f"event {label(seq)} ({values[8]}) was edited: its content no longer matches its hash")


# The v2 encoding as SQLite's json_array() writes it: the same bytes as `canonical_bytes` for every value an
# event holds (text, integers, NULL). Fetching one text column instead of sixteen makes the walk ~3x faster.
SELECT_ENCODED = (f"SELECT seq, prev_hash, hash, json_array({', '.join(CHAIN_FIELDS)}) FROM events "
                  "WHERE seq BETWEEN ? AND ? ORDER BY seq")


def walk_encoded(rows: Iterable[Sequence[Any]], *, start_seq: int, start_prev: str) -> WalkResult | None:
    """Fast path for an intact v2 chain: rows of `SELECT_ENCODED`. None at the first row that does not check
    (or if SQLite's encoding ever differed from ours): the caller then walks exactly, which names the event.
    A row can only pass if its stored hash is the SHA-256 of its current content, as with `walk`."""
    prev, expected, count = start_prev, start_seq, 0
    sha = _sha256
    for seq, linked, stored, text in rows:
        if seq != expected or linked != prev or sha(text.encode("utf-8")).hexdigest() != stored:
            return None
        prev, expected, count = stored, seq + 1, count + 1
    return WalkResult(count, expected - 1, prev, None)
