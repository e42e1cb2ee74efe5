"""`S3Storage`: objects in `s3://<bucket>/<prefix>/<key>` on AWS S3 or any S3-compatible service.

Artifacts go through s3fs; DuckDB reads lake data straight from the bucket with the httpfs extension,
installed from the `duckdb-extension-httpfs` wheel (never downloaded at run time) and given the
credentials as a temporary, connection-scoped secret.

Credentials come from the usual AWS chain — `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
`AWS_SESSION_TOKEN`, `AWS_PROFILE` (or the `profile` option) and `~/.aws/credentials`, container or
instance roles — and are never options, never written to `workbench.toml`, never shown or logged.

Timeouts: `timeout_s` (default: Workbench's `[backends] timeout_s`, 30 s) is how long any one request
may go unanswered — botocore's read timeout, DuckDB's `http_timeout` — with one retry each (s3fs's own
retry loop is switched off: stacked on botocore's it turned a silent endpoint into a quarter-hour
hang). Workbench also bounds starting and checking the back-end by the same number.

Atomic writes: an S3 object becomes visible only when its PUT (or multipart upload) completes, so
readers see the old object or the new one; a failed upload is aborted and leaves nothing behind.
"""

from __future__ import annotations

import importlib.resources
import math
from pathlib import Path
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlparse

from workbench.backends.options import Option, OptionSchema
from workbench.backends.storage import check_key
from workbench.errors import BackendUnavailableError

DEFAULT_TIMEOUT_S = 30.0  # Workbench's [backends] timeout_s default, for an S3Storage built directly
_PART = 8 * 1024 * 1024  # multipart chunk for file-object writes (S3's minimum part is 5 MiB)


class S3Storage:
    name: ClassVar[str] = "s3"
    SUPPORTS_DUCKDB: ClassVar[bool] = True
    OPTIONS: ClassVar[OptionSchema] = OptionSchema(
        Option("bucket", str, required=True, env="WORKBENCH_S3_BUCKET", help="Bucket that holds the workspace's objects."),
        Option("prefix", str, default="", help="Folder inside the bucket, e.g. teams/churn (no leading '/')."),
        Option("endpoint_url", str, env="AWS_ENDPOINT_URL_S3",
               help="S3-compatible endpoint, e.g. https://minio.internal:9000 (default: AWS)."),
        Option("region", str, default="us-east-1", env="AWS_REGION", help="Region of the bucket."),
        Option("path_style", bool, default=True,
               help="Path-style URLs (endpoint/bucket/key), as MinIO and most S3-compatible services need."),
        Option("profile", str, env="AWS_PROFILE", help="Named profile of ~/.aws/credentials to take credentials from."),
        Option("connect_timeout", float, default=10.0, help="Seconds to wait for a connection to the endpoint."),
        Option("timeout_s", float, help="Seconds a request (or a DuckDB read) may go unanswered before it fails "
               "(default: [backends] timeout_s, 30)."),
    )

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str = "us-east-1",
                 path_style: bool = True, profile: str | None = None, connect_timeout: float = 10.0,
                 timeout_s: float | None = None) -> None:
        import s3fs

        self.bucket = bucket.strip()
        self.prefix = check_key(prefix.strip("/"), prefix=True) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url or None
        self.region = region
        self.path_style = path_style
        self.profile = profile or None
        self.timeout_s = float(timeout_s) if timeout_s else DEFAULT_TIMEOUT_S
        self.connect_timeout = min(float(connect_timeout), self.timeout_s)
        if not self.bucket or "/" in self.bucket:
            raise BackendUnavailableError(f"{bucket!r} is not a bucket name.")
        self._fs = s3fs.S3FileSystem(
            profile=self.profile,
            endpoint_url=self.endpoint_url,
            client_kwargs={"region_name": region},
            config_kwargs={
                "s3": {"addressing_style": "path" if path_style else "virtual"},
                "connect_timeout": self.connect_timeout,
                "read_timeout": self.timeout_s,
                "retries": {"max_attempts": 2, "mode": "standard"},  # one retry
            },
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        self._fs.retries = 1  # botocore retries; s3fs's loop around it (5 more tries of each) is off
        self._probe()

    # -- set-up --------------------------------------------------------------------------------
    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    def _probe(self) -> None:
        """Fail now, in one clear sentence, if the endpoint, the credentials or the bucket are wrong."""
        try:
            self._fs.call_s3("list_objects_v2", Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except Exception as exc:
            raise BackendUnavailableError(self._explain(exc)) from None

    def _explain(self, exc: BaseException) -> str:
        code = _error_code(exc)
        where = self._where()
        if code in ("NoSuchBucket", "404") or isinstance(exc, FileNotFoundError):
            return f"The bucket {self.bucket!r} does not exist{f' at {self.endpoint_url}' if self.endpoint_url else ''}; create it or fix [storage.s3] bucket."
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AccessDenied",
                    "403", "InvalidClientTokenId") or isinstance(exc, PermissionError):
            return (f"The S3 credentials were refused for {where} ({code or 'access denied'}); check "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile.")
        if _is_no_credentials(exc):
            return f"No S3 credentials found for {where}; set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE."
        return f"Cannot reach {where}: {type(exc).__name__}: {_first_line(exc)}"

    # -- objects -------------------------------------------------------------------------------
    def _path(self, key: str) -> str:
        key = check_key(key)
        return f"{self.bucket}/{self.prefix}/{key}" if self.prefix else f"{self.bucket}/{key}"

    def read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return self._fs.cat_file(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"No object {key!r} in {self._where()}.") from None

    def write(self, key: str, data: bytes | BinaryIO) -> None:
        path = self._path(key)
        if isinstance(data, (bytes, bytearray, memoryview)):
            self._fs.pipe_file(path, bytes(data))  # one PUT (or a multipart upload s3fs completes or aborts)
            return
        first = _read_part(data)
        if len(first) < _PART:
            self._fs.pipe_file(path, first)
            return
        self._multipart(path, first, data)

    def _multipart(self, path: str, first: bytes, rest: BinaryIO) -> None:
        bucket, _, obj = path.partition("/")
        upload = self._fs.call_s3("create_multipart_upload", Bucket=bucket, Key=obj)
        upload_id = upload["UploadId"]
        parts = []
        try:
            chunk, number = first, 1
            while chunk:
                out = self._fs.call_s3("upload_part", Bucket=bucket, Key=obj, UploadId=upload_id,
                                       PartNumber=number, Body=chunk)
                parts.append({"PartNumber": number, "ETag": out["ETag"]})
                chunk, number = _read_part(rest), number + 1
            self._fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=obj, UploadId=upload_id,
                             MultipartUpload={"Parts": parts})
        except BaseException:
            # Nothing of an aborted upload is ever visible; the previous object stays as it was.
            try:
                self._fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=obj, UploadId=upload_id)
            except Exception:
                pass
            raise
        finally:
            self._fs.invalidate_cache(path)

    def exists(self, key: str) -> bool:
        return bool(self._fs.isfile(self._path(key)))

    def list(self, prefix: str = "") -> list[str]:
        folder = check_key(prefix, prefix=True)
        root = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        base = f"{root}/{folder}" if folder else root
        try:
            found = self._fs.find(base + "/")
        except FileNotFoundError:
            return []
        cut = len(root) + 1
        return sorted(p[cut:] for p in found if p.startswith(base + "/"))

    def delete(self, key: str) -> None:
        try:
            self._fs.rm_file(self._path(key))
        except FileNotFoundError:
            pass

    def url(self, key: str) -> str:
        return "s3://" + self._path(key)

    # -- DuckDB --------------------------------------------------------------------------------
    def configure_duckdb(self, con: Any) -> None:
        """Load httpfs from its wheel and register this bucket's credentials as a temporary secret."""
        _load_httpfs(con)
        creds = self._credentials()
        endpoint = urlparse(self.endpoint_url) if self.endpoint_url else None
        fields = {
            "TYPE": "s3",
            "KEY_ID": creds.access_key,
            "SECRET": creds.secret_key,
            "REGION": self.region,
            "URL_STYLE": "path" if self.path_style else "vhost",
            "SCOPE": f"s3://{self.bucket}",
        }
        if creds.token:
            fields["SESSION_TOKEN"] = creds.token
        if endpoint is not None:
            fields["ENDPOINT"] = endpoint.netloc + endpoint.path.rstrip("/")
            fields["USE_SSL"] = "true" if endpoint.scheme == "https" else "false"
        body = ", ".join(f"{k} {_sql_literal(v)}" if k not in ("TYPE", "USE_SSL") else f"{k} {v}"
                         for k, v in fields.items())
        name = "workbench_s3_" + "".join(c if c.isalnum() else "_" for c in self.bucket)
        # The statement holds the secret: it is executed, never logged or kept.
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {name} ({body})")
        # A silent endpoint must not hold a query for minutes (DuckDB's default: 30 s, 3 retries with backoff).
        con.execute(f"SET http_timeout = {max(1, math.ceil(self.timeout_s))}")
        con.execute("SET http_retries = 1")

    def _credentials(self) -> Any:
        import botocore.session

        session = botocore.session.Session(profile=self.profile)
        creds = session.get_credentials()
        if creds is None:
            raise BackendUnavailableError(f"No S3 credentials found for {self._where()}; set AWS_ACCESS_KEY_ID / "
                                          "AWS_SECRET_ACCESS_KEY or AWS_PROFILE.")
        return creds.get_frozen_credentials()

    # -- the rest --------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "bucket": self.bucket, "prefix": self.prefix, "endpoint_url": self.endpoint_url,
                "region": self.region, "path_style": self.path_style, "profile": self.profile,
                "timeout_s": self.timeout_s}

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"S3Storage({self._where()!r})"


def _read_part(stream: BinaryIO) -> bytes:
    """Up to one part's worth of bytes (raw streams may return less per read before their end)."""
    chunks, size = [], 0
    while size < _PART:
        chunk = stream.read(_PART - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _load_httpfs(con: Any) -> None:
    import duckdb

    try:
        con.execute("LOAD httpfs")
        return
    except duckdb.Error:
        pass
    try:
        root = Path(str(importlib.resources.files("duckdb_extension_httpfs")))
    except ModuleNotFoundError:
        raise BackendUnavailableError("duckdb-extension-httpfs is not installed; reinstall workbench-s3.") from None
    path = root / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.exists():
        raise BackendUnavailableError(f"duckdb-extension-httpfs has no build for DuckDB {duckdb.__version__}; "
                                      "install the matching version.")
    con.execute("LOAD " + _sql_literal(str(path)))  # from the package: no copy in the workspace


def _error_code(exc: BaseException) -> str | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            if code:
                return str(code)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def _is_no_credentials(exc: BaseException) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


