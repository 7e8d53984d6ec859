"""A place that is a prefix in an S3 bucket, or in any storage that speaks the S3 protocol.

boto3 finds the endpoint, region and credentials the usual way: ``AWS_ENDPOINT_URL``, ``AWS_REGION``,
``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (or ``AWS_PROFILE`` and the shared AWS files, or a
machine's role). An object is uploaded whole or not at all (one PUT, or a multipart upload that is
aborted when any part fails), after a look that it is not there yet: an object is never overwritten.
Reads are streams straight from the HTTP response. A failure arrives as an OSError, as a disk's would.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import BinaryIO, Iterator

import boto3
from boto3.exceptions import Boto3Error
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as Unreachable  # refused, timed out, no such host

from .place import StorageUnavailable

# Short connection timeouts and one retry: a bucket that cannot be reached is reported within seconds
# (at start-up, in the health check, to a resident sending files), not after minutes of retrying.
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30,
                        retries={"mode": "standard", "total_max_attempts": 2})
# What `check` writes and removes to prove the credentials may store and remove objects.
_CHECK_KEY = ".resolver-check"
_MISSING = {"404", "NoSuchKey", "NotFound"}
_NOT_ALLOWED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"}


class BucketError(OSError):
    """The bucket refused or failed a request (the message says which and why)."""


class Bucket:
    def __init__(self, name: str, prefix: str = "", *, page_size: int = 1000):
        self.name = name
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.url = f"s3://{name}/{self.prefix}"
        self.page_size = page_size
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        """The S3 client, made on first use: opening a place touches no network and reads no settings."""
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session().client("s3", config=_CLIENT_CONFIG)
            return self._client

    def write(self, key: str, source: BinaryIO) -> None:
        if self.exists(key):
            return
        with self._failing(f"store {key}"):
            self.client.upload_fileobj(source, self.name, self.prefix + key)

    def open(self, key: str) -> BinaryIO:
        with self._failing(f"read {key}", key=key):
            return self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"]

    def size(self, key: str) -> int:
        return self._head(key)["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except FileNotFoundError:
            return False
        return True

    def keys(self, prefix: str = "") -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=self.prefix + prefix, PaginationConfig={"PageSize": self.page_size})
        with self._failing("list its files"):
            for page in pages:
                for listed in page.get("Contents", ()):
                    key = listed["Key"].removeprefix(self.prefix)
                    if key != _CHECK_KEY:
                        yield key

    def delete(self, key: str) -> None:
        with self._failing(f"remove {key}"):
            self.client.delete_object(Bucket=self.name, Key=self.prefix + key)

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.name)
            self.client.put_object(Bucket=self.name, Key=self.prefix + _CHECK_KEY, Body=b"")
            self.client.delete_object(Bucket=self.name, Key=self.prefix + _CHECK_KEY)
        except ClientError as error:
            raise StorageUnavailable(self._refusal(error)) from None
        except NoCredentialsError:
            raise StorageUnavailable(
                f"Resolver has no credentials for the bucket {self.name}: set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY (or AWS_PROFILE).") from None
        except Unreachable:
            raise StorageUnavailable(f"Resolver cannot reach the storage at {self._endpoint()} for the bucket "
                                     f"{self.name}: check AWS_ENDPOINT_URL and the network.") from None
        except BotoCoreError as error:
            raise StorageUnavailable(f"Resolver cannot use the bucket {self.name} at {self._endpoint()}: "
                                     f"{error}.") from None

    def _head(self, key: str) -> dict:
        with self._failing(f"look for {key}", key=key):
            return self.client.head_object(Bucket=self.name, Key=self.prefix + key)

    @contextmanager
    def _failing(self, what: str, *, key: str | None = None):
        """boto3's failures inside the block as a BucketError naming the bucket and the act; with ``key``,
        an object that is not there as FileNotFoundError."""
        try:
            yield
        except ClientError as error:
            if key is not None and _code(error) in _MISSING:
                raise FileNotFoundError(f"{self.url}{key}") from None
            raise BucketError(f"The bucket {self.url} could not {what}: {error}") from None
        except (BotoCoreError, Boto3Error) as error:
            raise BucketError(f"The bucket {self.url} could not {what}: {error}") from None

    def _refusal(self, error: ClientError) -> str:
        code, endpoint = _code(error), self._endpoint()
        if code in {"404", "NoSuchBucket"}:
            return f"The bucket {self.name} does not exist at {endpoint}: create it, or correct RESOLVER_STORAGE_URL."
        if code in _NOT_ALLOWED:
            return (f"The storage at {endpoint} refused Resolver's credentials for the bucket {self.name} ({code}): "
                    f"check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket's permissions.")
        return f"The bucket {self.name} at {endpoint} cannot be used: {error}."

    def _endpoint(self) -> str:
        return self.client.meta.endpoint_url


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
