"""Contract checks for storage back-ends (`workbench.storage`), one function per promise.

Every check works under its own `kit-<random>/` folder and removes what it wrote.
"""

from __future__ import annotations

import io
import threading
import uuid
from typing import Any, Iterator

from workbench.backends.options import schema_of
from workbench.backends.storage import StorageBackend
from workbench.errors import BadInputError
from workbench.testing.leaks import assert_no_secret, captured_logs, public_faces
from workbench.testing.report import Check, CheckSkipped, ContractViolation, KitContext, expect


class _Area:
    """A fresh folder of keys for one check, emptied afterwards even when the check fails."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.base = f"kit-{uuid.uuid4().hex[:10]}"

    def key(self, rel: str) -> str:
        return f"{self.base}/{rel}"

    def __enter__(self) -> "_Area":
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for key in self.storage.list(self.base):
                self.storage.delete(key)
        except Exception:
            pass


class _FailingStream(io.RawIOBase):
    """A file object that yields `good` bytes and then fails, like a dropped upload source."""

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError("source went away half-way (contract kit)")
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def check_declaration(storage: Any, ctx: KitContext) -> None:
    """It satisfies the Protocol and declares its options well."""
    expect(isinstance(storage, StorageBackend), "it does not implement the StorageBackend Protocol "
           "(name, SUPPORTS_DUCKDB, read, write, exists, list, delete, url, configure_duckdb, describe, close).")
    expect(isinstance(storage.name, str) and storage.name != "", "`name` must be a non-empty string.")
    expect(isinstance(storage.SUPPORTS_DUCKDB, bool), "SUPPORTS_DUCKDB must be a bool.")
    schema_of(type(storage))


def check_round_trip(storage: Any, ctx: KitContext) -> None:
    """What is written is read back byte for byte, from bytes or a file object; overwrite replaces."""
    with _Area(storage) as area:
        key = area.key("round/trip.bin")
        expect(not storage.exists(key), "exists() must be False before the first write.")
        storage.write(key, b"first")
        expect(storage.exists(key), "exists() must be True after a write.")
        expect(storage.read(key) == b"first", "read() must return what write() stored.")
        big = bytes(range(256)) * 12_000  # ~3 MB: large enough for multipart uploads
        storage.write(key, io.BytesIO(big))
        expect(storage.read(key) == big, "write() from a file object must store all of it, replacing the old object.")
        try:
            storage.read(area.key("round/missing.bin"))
        except FileNotFoundError:
            pass
        else:
            raise ContractViolation("read() of a missing key must raise FileNotFoundError.")


def check_lists_what_it_wrote(storage: Any, ctx: KitContext) -> None:
    """list(folder) returns exactly the keys written under that folder, sorted, nothing else."""
    with _Area(storage) as area:
        keys = [area.key(k) for k in ("list/a.bin", "list/sub/b.bin", "list/sub/deeper/c.bin")]
        for k in keys:
            storage.write(k, k.encode())
        storage.write(area.key("listing-sibling.bin"), b"not under list/")
        expect(storage.list(area.key("list")) == sorted(keys), f"list() returned {storage.list(area.key('list'))}, wrote {sorted(keys)}.")
        expect(storage.list(area.key("list") + "/") == sorted(keys), "list('folder/') must equal list('folder').")
        expect(storage.list(area.key("list/sub")) == sorted(keys[1:]), "list() of a sub-folder must hold only its keys.")
        expect(storage.list(area.key("list/a")) == [], "list() matches whole folder names, not string prefixes.")
        expect(storage.list(area.key("nothing-here")) == [], "list() of an empty folder must be [].")
        everything = storage.list("")
        expect(set(keys) <= set(everything), "list('') must include every key.")


def check_deletes(storage: Any, ctx: KitContext) -> None:
    """delete() removes the object; deleting a missing key is not an error."""
    with _Area(storage) as area:
        key = area.key("del/x.bin")
        storage.write(key, b"x")
        storage.delete(key)
        expect(not storage.exists(key), "exists() must be False after delete().")
        expect(key not in storage.list(area.key("del")), "list() must not show a deleted key.")
        storage.delete(key)  # idempotent


def check_failed_write_leaves_no_trace(storage: Any, ctx: KitContext) -> None:
    """A write whose source fails half-way keeps the old object and leaves no partial or temporary one."""
    with _Area(storage) as area:
        key = area.key("atomic/object.bin")
        storage.write(key, b"old and whole")
        try:
            storage.write(key, _FailingStream(good=3 * 1024 * 1024))
        except Exception:
            pass
        else:
            raise ContractViolation("write() must raise when its source fails.")
        expect(storage.read(key) == b"old and whole", "a failed write must leave the previous object intact.")
        expect(storage.list(area.key("atomic")) == [key], f"a failed write left objects behind: {storage.list(area.key('atomic'))}.")
        fresh = area.key("atomic/new.bin")
        try:
            storage.write(fresh, _FailingStream(good=1024))
        except Exception:
            pass
        expect(not storage.exists(fresh), "a failed first write must not create the key.")


def check_readers_never_see_partial_writes(storage: Any, ctx: KitContext) -> None:
    """While one thread overwrites an object, readers see one whole version or the other."""
    with _Area(storage) as area:
        key = area.key("concurrent/object.bin")
        size = 512 * 1024
        versions = (b"A" * size, b"B" * size)
        storage.write(key, versions[0])
        bad: list[str] = []
        done = threading.Event()

        def writer() -> None:
            try:
                for i in range(8):
                    storage.write(key, versions[(i + 1) % 2])
            finally:
                done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        reads = 0
        while not done.is_set() or reads < 3:
            data = storage.read(key)
            reads += 1
            if data not in versions:
                bad.append(f"{len(data)} bytes, starting {data[:8]!r}")
        thread.join()
        expect(not bad, f"a reader saw a partial object during an overwrite: {bad[:3]}.")


def check_rejects_bad_keys(storage: Any, ctx: KitContext) -> None:
    """Absolute, escaping, empty or reserved keys are refused before anything is written."""
    for key in ("", "/absolute", "../escape", "a/../../b", "a//b", "./a", ".tmp-reserved"):
        try:
            storage.write(key, b"x")
        except (BadInputError, ValueError):
            continue
        raise ContractViolation(f"write({key!r}) must be refused (use workbench.backends.storage.check_key).")


def check_duckdb_reads_url(storage: Any, ctx: KitContext) -> None:
    """A Parquet file written through the back-end is read by DuckDB at `url(key)`."""
    if not storage.SUPPORTS_DUCKDB:
        raise CheckSkipped("SUPPORTS_DUCKDB is False")
    import duckdb

    local = ctx.workdir / f"kit-{uuid.uuid4().hex[:8]}.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT range AS i, range % 7 AS g FROM range(1000)) TO '{local}' (FORMAT parquet)")
    with _Area(storage) as area:
        key = area.key("duckdb/data.parquet")
        storage.write(key, local.read_bytes())
        ext_dir = ctx.workdir / "duckdb_extensions"
        ext_dir.mkdir(exist_ok=True)
        con = duckdb.connect(config={"extension_directory": str(ext_dir), "autoinstall_known_extensions": False,
                                     "autoload_known_extensions": False})
        try:
            storage.configure_duckdb(con)
            count, total = con.execute("SELECT count(*), sum(i) FROM read_parquet(?)", [storage.url(key)]).fetchone()
            expect((count, total) == (1000, 499500), f"DuckDB read {count} rows (sum {total}) at {storage.url(key)}.")
            secrets_table = str(con.execute("SELECT * FROM duckdb_secrets()").fetchall())
            assert_no_secret("duckdb_secrets()", secrets_table, ctx.secrets)
        finally:
            con.close()


def check_no_credential_leak(storage: Any, ctx: KitContext) -> None:
    """No secret appears in repr/str/describe(), in log records while it works, or in its errors."""
    for where, text in public_faces(storage).items():
        assert_no_secret(where, text, ctx.secrets)
    with _Area(storage) as area, captured_logs() as logs:
        key = area.key("leak/x.bin")
        storage.write(key, b"x")
        storage.read(key)
        storage.list(area.key("leak"))
        storage.delete(key)
        try:
            storage.read(area.key("leak/missing.bin"))
        except Exception as exc:
            assert_no_secret("the error for a missing key", str(exc), ctx.secrets)
    assert_no_secret("log records", logs, ctx.secrets)


STORAGE_CHECKS: tuple[tuple[str, Check], ...] = (
    ("declaration", check_declaration),
    ("round_trip", check_round_trip),
    ("lists_what_it_wrote", check_lists_what_it_wrote),
    ("deletes", check_deletes),
    ("failed_write_leaves_no_trace", check_failed_write_leaves_no_trace),
    ("readers_never_see_partial_writes", check_readers_never_see_partial_writes),
    ("rejects_bad_keys", check_rejects_bad_keys),
    ("duckdb_reads_url", check_duckdb_reads_url),
    ("no_credential_leak", check_no_credential_leak),
)


def iter_storage_checks() -> Iterator[tuple[str, Check]]:
    yield from STORAGE_CHECKS
