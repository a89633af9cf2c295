"""Smoke tests of the local S3 test server (tests/s3, @20minutes/s3rver 4.0.4).

They prove the server the rest of the suite relies on really behaves like S3
where it matters to roomrec: objects round-trip, ListObjectsV2 paginates with
continuation tokens, presigned PUT URLs work, and signatures are verified
(a tampered presigned URL or a wrong secret key is refused with 403).

Run:  /usr/bin/python3 -m pytest -q tests/integration/test_s3rver_smoke.py
Needs: npm ci --prefix tests/s3   (and Debian's python3-boto3, python3-pytest)
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
from s3rver_fixture import ACCESS_KEY, REGION, SECRET_KEY, S3Server  # noqa: E402

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

BUCKET = "roomrec-test"

# Never send loopback traffic through a proxy that the environment may set.
for _var in ("NO_PROXY", "no_proxy"):
    _cur = os.environ.get(_var, "")
    if "127.0.0.1" not in _cur.split(","):
        os.environ[_var] = ",".join(filter(None, [_cur, "127.0.0.1", "localhost"]))

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def s3server():
    with S3Server(buckets=(BUCKET, "roomrec-other")) as server:
        yield server


def make_client(server: S3Server, secret_key: str = SECRET_KEY, access_key: str = ACCESS_KEY):
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=20,
        ),
    )


@pytest.fixture(scope="module")
def s3(s3server):
    return make_client(s3server)


def unique_prefix(name: str) -> str:
    return f"smoke/{name}-{uuid.uuid4().hex[:8]}/"


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None):
    """Plain HTTP request; returns (status, body) for success and for HTTP errors."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=20) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def error_code(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6 : end] if start != -1 and end != -1 else text


def object_exists(s3, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
        return True
    except ClientError as err:
        if err.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise


def tamper_query_param(url: str, name: str, mutate) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    found = False
    out = []
    for k, v in query:
        if k == name:
            found = True
            v = mutate(v)
        out.append((k, v))
    assert found, f"{name} not in presigned URL {url}"
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(out)))


def flip_hex(sig: str) -> str:
    # change the last hex digit: still a well-formed signature, just wrong
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


# --------------------------------------------------------------------- tests


def test_buckets_are_precreated(s3):
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {BUCKET, "roomrec-other"} <= names


def test_put_get_object_roundtrip(s3):
    key = unique_prefix("roundtrip") + "chunk-000001.bin"
    payload = os.urandom(100_000) + b"\x00\r\n end"
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=payload, ContentType="application/octet-stream")
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert put["ETag"].strip('"') == hashlib.md5(payload).hexdigest()

    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == payload
    assert got["ContentLength"] == len(payload)
    assert got["ContentType"] == "application/octet-stream"

    # overwrite, then delete
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"v2")
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"v2"
    s3.delete_object(Bucket=BUCKET, Key=key)
    assert not object_exists(s3, key)


def test_get_missing_object_is_404(s3):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=BUCKET, Key=unique_prefix("missing") + "nothing")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"


def test_list_objects_v2_pagination_with_continuation_token(s3):
    prefix = unique_prefix("list")
    keys = sorted(f"{prefix}{i:04d}.chunk" for i in range(25))
    for k in keys:
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    # a key outside the prefix must not show up
    s3.put_object(Bucket=BUCKET, Key=prefix.rstrip("/") + "-sibling", Body=b"x")

    seen = []
    page_sizes = []
    token = None
    for _ in range(10):  # guard against a server that never stops truncating
        kwargs = dict(Bucket=BUCKET, Prefix=prefix, MaxKeys=10)
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        contents = page.get("Contents", [])
        page_sizes.append(len(contents))
        seen += [o["Key"] for o in contents]
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        token = page["NextContinuationToken"]
        assert token
    assert page_sizes == [10, 10, 5]
    assert seen == keys

    # the paginator (what most clients use) agrees
    paginator = s3.get_paginator("list_objects_v2")
    via_paginator = [
        o["Key"]
        for p in paginator.paginate(Bucket=BUCKET, Prefix=prefix, PaginationConfig={"PageSize": 10})
        for o in p.get("Contents", [])
    ]
    assert via_paginator == keys


def test_presigned_put_with_urllib_succeeds(s3server, s3):
    key = unique_prefix("presigned") + "chunk 0001+x.bin"  # space and plus need encoding
    payload = b"presigned payload \x00\x01\x02" * 1000
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600
    )
    assert url.startswith(s3server.endpoint + "/" + BUCKET + "/"), url  # path-style
    assert "X-Amz-Signature=" in url and "X-Amz-Credential=S3RVER" in url

    status, body = http("PUT", url, data=payload, headers={"Content-Type": "application/octet-stream"})
    assert status == 200, body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == payload

    # a presigned GET works the same way
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
    status, body = http("GET", get_url)
    assert status == 200
    assert body == payload


def test_presigned_put_with_tampered_signature_is_rejected(s3):
    key = unique_prefix("tampered") + "chunk.bin"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)

    bad = tamper_query_param(url, "X-Amz-Signature", flip_hex)
    assert bad != url
    status, body = http("PUT", bad, data=b"evil", headers={"Content-Type": "application/octet-stream"})
    assert status == 403, body
    assert error_code(body) == "SignatureDoesNotMatch"
    assert not object_exists(s3, key)

    # the untampered URL still works, so the 403 above was caused by the tampering
    status, body = http("PUT", url, data=b"good", headers={"Content-Type": "application/octet-stream"})
    assert status == 200, body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"good"


def test_presigned_url_is_bound_to_key_method_and_signed_headers(s3):
    prefix = unique_prefix("bound")
    key = prefix + "a.bin"
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": BUCKET, "Key": key, "ContentType": "video/webm"},
        ExpiresIn=600,
    )
    # another key, same signature
    other = url.replace("/a.bin?", "/b.bin?")
    assert other != url
    status, body = http("PUT", other, data=b"x", headers={"Content-Type": "video/webm"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    # another method, same URL
    status, body = http("DELETE", url)
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    # a signed header (content-type) with another value
    status, body = http("PUT", url, data=b"x", headers={"Content-Type": "text/plain"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    # lengthened expiry
    longer = tamper_query_param(url, "X-Amz-Expires", lambda v: str(int(v) + 1))
    status, body = http("PUT", longer, data=b"x", headers={"Content-Type": "video/webm"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    assert not object_exists(s3, key)
    assert not object_exists(s3, prefix + "b.bin")

    # and the genuine request passes
    status, body = http("PUT", url, data=b"webm", headers={"Content-Type": "video/webm"})
    assert status == 200, body
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b"webm"
    assert got["ContentType"] == "video/webm"


def test_expired_presigned_url_is_rejected(s3):
    key = unique_prefix("expired") + "chunk.bin"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=1)
    time.sleep(2.2)
    status, body = http("PUT", url, data=b"late", headers={"Content-Type": "application/octet-stream"})
    assert status == 403, body
    assert error_code(body) == "AccessDenied"
    assert not object_exists(s3, key)


def test_wrong_secret_key_with_header_signing_is_rejected(s3server, s3):
    key = unique_prefix("wrongsecret") + "chunk.bin"
    bad = make_client(s3server, secret_key="NOT-THE-SECRET")
    with pytest.raises(ClientError) as exc:
        bad.put_object(Bucket=BUCKET, Key=key, Body=b"evil")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert not object_exists(s3, key)

    with pytest.raises(ClientError) as exc:
        bad.list_objects_v2(Bucket=BUCKET)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    # a presigned URL made with the wrong secret is refused too
    url = bad.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
    status, body = http("PUT", url, data=b"evil", headers={"Content-Type": "application/octet-stream"})
    assert (status, error_code(body)) == (403, "SignatureDoesNotMatch")
    assert not object_exists(s3, key)


def test_unknown_access_key_is_rejected(s3server):
    bad = make_client(s3server, access_key="NOBODY")
    with pytest.raises(ClientError) as exc:
        bad.list_objects_v2(Bucket=BUCKET)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_unsigned_requests_are_accepted_by_s3rver(s3server, s3):
    """Documents an s3rver limit: a request with no signature at all is allowed
    (it only checks signatures that are present). Tests that need 'unsigned
    is refused' cannot rely on this server."""
    key = unique_prefix("anonymous") + "chunk.bin"
    status, body = http("PUT", s3server.url(BUCKET, key), data=b"anon",
                        headers={"Content-Type": "application/octet-stream"})
    assert status == 200, body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"anon"


def test_server_stops_on_exit(tmp_path):
    with S3Server(buckets=("roomrec-stop",), directory=tmp_path / "data") as server:
        endpoint = server.endpoint
        status, _ = http("GET", endpoint + "/roomrec-stop")
        assert status == 200
        proc = server._proc
    assert proc.poll() is not None, "server still running after the with block"
    with pytest.raises(urllib.error.URLError):
        _OPENER.open(endpoint + "/", timeout=3)
    # an explicit directory is kept, with the bucket in it
    assert (tmp_path / "data" / "roomrec-stop").is_dir()
