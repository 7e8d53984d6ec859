"""A real S3 protocol server on loopback for the storage tests (moto's, started once a run), a bucket of
its own for each test, and a gateway in front of it that can be told to refuse writes, as a bucket
whose policy or quota changes under a running Resolver would.

The AWS_* settings that point boto3 at the server are set only for the test that asks for a bucket,
and leave nothing to be found elsewhere: no shared AWS files, no instance metadata, no network beyond
loopback.
"""
from __future__ import annotations

import http.client
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from .conftest import free_port

REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3_server():
    """The endpoint URL of an S3 server on loopback, for the whole run."""
    from moto.server import ThreadedMotoServer  # imported only by a run that needs it

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(s3_server, monkeypatch, tmp_path):
    """Point boto3 at ``endpoint`` (the test server unless told otherwise), for this test only."""

    def point_at(endpoint: str = s3_server) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "resolver-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "resolver-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    point_at()
    return point_at


def s3_client(endpoint: str):
    import boto3

    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION,
                                          aws_access_key_id="resolver-test",
                                          aws_secret_access_key="resolver-test-secret")


@pytest.fixture
def new_bucket(s3_server, s3_settings):
    """``new_bucket()``: the URL (``s3://<name>/files``) of a bucket made for this test, empty."""
    client = s3_client(s3_server)

    def make() -> str:
        name = f"resolver-{uuid.uuid4().hex[:20]}"
        client.create_bucket(Bucket=name)
        return f"s3://{name}/files"

    return make


@pytest.fixture
def bucket_url(new_bucket) -> str:
    return new_bucket()


def objects_in(url: str, endpoint: str) -> list[str]:
    """Every object's key under a bucket URL, read straight from the server."""
    parts = urlsplit(url)
    listed = s3_client(endpoint).list_objects_v2(Bucket=parts.netloc, Prefix=parts.path.lstrip("/"))
    return sorted(item["Key"] for item in listed.get("Contents", ()))


class Gateway:
    """An HTTP gateway to the S3 server that passes every request on until ``refuse_writes_after`` PUTs
    have gone through, then answers each further PUT as S3 does a write its policy denies."""

    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.refuse_writes_after: int | None = None
        self.writes = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "PUT" and gateway.is_refusing():
                    return self._answer(403, {"Content-Type": "application/xml"}, DENIED)
                upstream = http.client.HTTPConnection(gateway.upstream.hostname, gateway.upstream.port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    answer = upstream.getresponse()
                    data = answer.read()
                    headers = {k: v for k, v in answer.getheaders() if k.lower() not in {"transfer-encoding", "connection"}}
                    self._answer(answer.status, headers, data)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: dict, data: bytes):
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length" or self.command == "HEAD":  # HEAD: the object's length
                        self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler

    def is_refusing(self) -> bool:
        if self.refuse_writes_after is None:
            return False
        self.writes += 1
        return self.writes > self.refuse_writes_after


DENIED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
          b"<Message>Access Denied</Message></Error>")


@pytest.fixture
def s3_gateway(s3_server, s3_settings):
    """A gateway in front of the test's S3 server, which boto3 is pointed at instead."""
    gateway = Gateway(s3_server)
    thread = threading.Thread(target=gateway.server.serve_forever, daemon=True)
    thread.start()
    s3_settings(gateway.url)
    yield gateway
    gateway.server.shutdown()
    gateway.server.server_close()
    thread.join()
