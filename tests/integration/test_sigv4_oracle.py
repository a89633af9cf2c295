"""Our SigV4 signer (src/s3/sigv4.*) against botocore as an oracle.

tests/sigv4_cli reads JSON lines and prints a presigned URL (or, in header
mode, the Authorization value) per line. The same requests are signed by
boto3's generate_presigned_url (s3v4; path-style and virtual addressing,
several regions, default and explicit ports, session tokens) and by botocore's
S3SigV4Auth, with botocore's clock frozen to the same instant, and the results
must match: scheme, host and path exactly, the query as a set of encoded
name=value pairs (the order may differ), hence the signature.

Run:  ROOMREC_BUILD_DIR=$PWD/build-sig /usr/bin/python3 -m pytest -q tests/integration/test_sigv4_oracle.py
Needs: Debian's python3-boto3 and python3-pytest, a built tests/sigv4_cli.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import random
import subprocess
import types
import urllib.parse
from pathlib import Path
from unittest import mock

import pytest

BUILD_DIR = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(
    not BUILD_DIR, reason="ROOMREC_BUILD_DIR is not set: point it at a meson build directory holding tests/sigv4_cli"
)

boto3 = pytest.importorskip("boto3", reason="boto3 missing (Debian package python3-boto3)")
import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ACCESS_KEY = "AKIAROOMRECEXAMPLE"
# A secret with the characters that must be percent-encoded in the S3 URI.
SECRET_KEY = "wJal/rXUt+nFEMI:K7MD@ENG/bPx%RfiCY=EXAMPLE"
SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDH+token/with=chars"

# (endpoint_url, addressing style, bucket). IP literals only path style; dotted
# bucket names only path style (botocore would not use virtual hosting for them).
ENDPOINTS = [
    ("http://127.0.0.1:9000", "path", "roomrec-test"),
    ("http://[::1]:9000", "path", "roomrec-test"),
    ("http://localhost:4568", "path", "my.bucket"),
    ("http://localhost:4568", "virtual", "roomrec-test"),
    ("https://s3.example.com", "virtual", "examplebucket"),
    ("https://s3.example.com", "path", "examplebucket"),
    ("https://s3.eu-west-3.example.com:8443", "virtual", "b-1"),
    ("https://s3.eu-west-3.example.com:8443", "path", "b-1"),
    ("http://minio.local:80", "virtual", "roomrec-test"),  # explicit default port
    ("https://minio.local:443", "path", "roomrec-test"),
    ("http://minio.local:443", "path", "roomrec-test"),  # a non-default port for http
]
REGIONS = ["us-east-1", "", "eu-west-3", "ap-southeast-2", "garage"]
METHODS = {"GET": "get_object", "PUT": "put_object", "HEAD": "head_object", "DELETE": "delete_object"}

# Tokens keys are drawn from: unicode (accents, CJK, emoji, combining marks,
# no-break space), every ASCII punctuation, spaces, tabs, slashes and dots.
ALPHABET = (
    list("aZ09")
    + list(" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + ["\u00e9", "\u00df", "\u65e5\u672c", "\U0001F600", "e\u0301", "\u00a0", "\u2028", "\t", "\n"]
    + ["/", "//", ".", "..", "./", "../", "%20", "%2F", "%", "+", "=", "&", "~", "abc", "rec"]
)
SPECIAL_KEYS = [
    "a", "a b", "a+b", "a=b&c", "100%", "%2541", "~user", ".", "..", "./a", "a/./b/../c", "a//b", "a/", "//",
    "/leading", "trailing/", "\u65e5\u672c\u8a9e/\u30d5\u30a1\u30a4\u30eb.rec", "\U0001F600 \U0001F389",
    "app/room/1731132577151/alice/77/000012-1000-2000.rec", "*()!'", "[x]{y}<z>", "a\\b", "q?x=1#frag",
]


class _FrozenDatetime(datetime.datetime):
    """Stands in for datetime.datetime inside botocore.auth only."""

    now_unix = 0

    @classmethod
    def utcnow(cls):
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=cls.now_unix)

    @classmethod
    def now(cls, tz=None):
        t = cls.utcnow()
        return t if tz is None else t.replace(tzinfo=datetime.timezone.utc).astimezone(tz)


def _frozen_clock():
    # botocore 1.29 calls datetime.datetime.utcnow() in botocore.auth; replace
    # that module's `datetime` name, not the global datetime module.
    return mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=_FrozenDatetime))


def _amz_date(now: int) -> str:
    return (datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=now)).strftime("%Y%m%dT%H%M%SZ")


def _cli() -> Path:
    exe = Path(BUILD_DIR) / "tests" / "sigv4_cli"
    if not exe.is_file():
        pytest.fail(f"{exe} not found: build it with `ninja -C {BUILD_DIR} tests/sigv4_cli`")
    return exe


def run_cli(requests: list[dict]) -> list[str]:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    p = subprocess.run([str(_cli())], input=data.encode(), capture_output=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    lines = p.stdout.decode().split("\n")
    assert lines[-1] == ""
    assert len(lines) - 1 == len(requests)
    return lines[:-1]


def s3_uri(endpoint: str, style: str, bucket: str, region: str, prefix: str = "") -> str:
    parts = urllib.parse.urlsplit(endpoint)
    creds = urllib.parse.quote(ACCESS_KEY, safe="") + ":" + urllib.parse.quote(SECRET_KEY, safe="")
    path = "/" + bucket + ("/" + urllib.parse.quote(prefix) if prefix else "")
    query = urllib.parse.urlencode({"path_style": "true" if style == "path" else "false", "region": region})
    return f"{parts.scheme}://{creds}@{parts.netloc}{path}?{query}"


_clients: dict = {}


def boto_client(endpoint: str, style: str, region: str, token: bool):
    k = (endpoint, style, region, token)
    if k not in _clients:
        _clients[k] = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name=region or "us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN if token else None,
            config=Config(signature_version="s3v4", s3={"addressing_style": style}),
        )
    return _clients[k]


def _netloc(u: urllib.parse.SplitResult) -> str:
    default = {"http": 80, "https": 443}[u.scheme]
    host = u.hostname if ":" not in (u.hostname or "") else f"[{u.hostname}]"
    return host if u.port in (None, default) else f"{host}:{u.port}"


def split_url(url: str):
    u = urllib.parse.urlsplit(url)
    pairs = sorted(tuple(p.partition("=")[::2]) for p in u.query.split("&")) if u.query else []
    return u.scheme, _netloc(u), u.path, pairs


def assert_same_url(ours: str, theirs: str, what: str):
    assert not ours.startswith("ERROR"), f"{what}: {ours}"
    o, t = split_url(ours), split_url(theirs)
    assert o[:3] == t[:3], f"{what}\n ours:   {ours}\n boto3:  {theirs}"
    assert o[3] == t[3], f"{what}\n ours:   {ours}\n boto3:  {theirs}"


def random_key(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))


def random_time(rng: random.Random) -> int:
    return rng.randint(1262304000, 2082758399)  # 2010 .. 2035


# ---------------------------------------------------------------------------


def test_frozen_clock_really_freezes_botocore():
    c = boto_client("http://127.0.0.1:9000", "path", "us-east-1", False)
    _FrozenDatetime.now_unix = 1369353600
    with _frozen_clock():
        url = c.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    assert "X-Amz-Date=20130524T000000Z" in url
    assert "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" in url


def test_aws_documentation_example_matches_boto3_and_the_published_signature():
    uri = ("https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY@s3.amazonaws.com/examplebucket")
    [ours] = run_cli([{"method": "GET", "endpoint": uri, "key": "test.txt", "now": 1369353600, "expires": 86400}])
    assert ours.endswith("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    c = boto3.session.Session().client(
        "s3", region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    _FrozenDatetime.now_unix = 1369353600
    with _frozen_clock():
        theirs = c.generate_presigned_url("get_object", Params={"Bucket": "examplebucket", "Key": "test.txt"},
                                          ExpiresIn=86400)
    assert_same_url(ours, theirs, "AWS example")


def _object_cases(rng: random.Random):
    cases = []
    for i in range(400):  # random keys
        cases.append((random_key(rng), rng.choice(list(METHODS)), rng.choice(ENDPOINTS), rng.choice(REGIONS),
                      rng.random() < 0.25, rng.choice(["", "", "pre", "deep/pre fix/\u00e9"])))
    for key in SPECIAL_KEYS:  # every special key with every method
        for m in METHODS:
            cases.append((key, m, rng.choice(ENDPOINTS), rng.choice(REGIONS), rng.random() < 0.25, ""))
    return cases


def test_presigned_object_urls_match_boto3():
    rng = random.Random(20240229)
    cases = _object_cases(rng)
    requests, expected = [], []
    for key, method, (endpoint, style, bucket), region, token, prefix in cases:
        now = random_time(rng)
        expires = rng.choice([1, 60, 3600, 86400, 604800, rng.randint(1, 604800)])
        # Keys given to the CLI are relative to the URI prefix; uri.key() drops a
        # leading '/' of the relative key, so a prefixed case starts with a letter.
        rel = ("k" + key) if prefix else key
        full = f"{prefix}/{rel}" if prefix else rel
        if not prefix and key.startswith("/"):
            # key() would drop the leading '/': sign such raw keys with full_key.
            req = {"full_key": key}
        else:
            req = {"key": rel}
        req.update({"method": method, "endpoint": s3_uri(endpoint, style, bucket, region, prefix), "now": now,
                    "expires": expires})
        if token:
            req["session_token"] = SESSION_TOKEN
        requests.append(req)
        _FrozenDatetime.now_unix = now
        with _frozen_clock():
            url = boto_client(endpoint, style, region, token).generate_presigned_url(
                METHODS[method], Params={"Bucket": bucket, "Key": full}, ExpiresIn=expires, HttpMethod=method)
        assert f"X-Amz-Date={_amz_date(now)}" in url
        expected.append((url, f"{method} {full!r} via {endpoint} {style} region={region!r} token={token}"))
    assert len(requests) >= 300
    ours = run_cli(requests)
    for o, (t, what) in zip(ours, expected):
        assert_same_url(o, t, what)


def test_presigned_list_objects_v2_matches_boto3():
    rng = random.Random(7)
    requests, expected = [], []
    for i in range(120):
        endpoint, style, bucket = rng.choice(ENDPOINTS)
        region = rng.choice(REGIONS)
        token = rng.random() < 0.25
        params = {"Bucket": bucket}
        query = {"list-type": "2", "encoding-type": "url"}  # boto3 always asks for url encoding
        if rng.random() < 0.8:
            params["Prefix"] = query["prefix"] = random_key(rng) if rng.random() < 0.7 else "app/room/1/"
        if rng.random() < 0.6:
            params["Delimiter"] = query["delimiter"] = rng.choice(["/", "|", " ", random_key(rng)])
        if rng.random() < 0.5:
            params["ContinuationToken"] = query["continuation-token"] = rng.choice(
                ["1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", random_key(rng)])
        if rng.random() < 0.3:
            params["StartAfter"] = query["start-after"] = random_key(rng)
        if rng.random() < 0.3:
            n = rng.randint(1, 1000)
            params["MaxKeys"] = n
            query["max-keys"] = str(n)
        now = random_time(rng)
        expires = rng.randint(1, 604800)
        req = {"method": "GET", "endpoint": s3_uri(endpoint, style, bucket, region), "key": "", "now": now,
               "expires": expires, "query": query}
        if token:
            req["session_token"] = SESSION_TOKEN
        requests.append(req)
        _FrozenDatetime.now_unix = now
        with _frozen_clock():
            url = boto_client(endpoint, style, region, token).generate_presigned_url(
                "list_objects_v2", Params=params, ExpiresIn=expires)
        expected.append((url, f"list {params} via {endpoint} {style} region={region!r}"))
    ours = run_cli(requests)
    for o, (t, what) in zip(ours, expected):
        assert_same_url(o, t, what)


def _botocore_authorization(method, endpoint, style, bucket, key, query, headers, body, region, token, now,
                            unsigned=False):
    """Signs with botocore's S3SigV4Auth a request built here independently."""
    u = urllib.parse.urlsplit(endpoint)
    netloc = u.netloc if style == "path" else f"{bucket}.{u.netloc}"
    path = (f"/{bucket}" if style == "path" else "") + ("/" + urllib.parse.quote(key, safe="/~") if key else "")
    if not path:
        path = "/"
    qs = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in query)
    url = urllib.parse.urlunsplit((u.scheme, netloc, path, qs, ""))
    req = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    if unsigned:
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    creds = Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN if token else None)
    _FrozenDatetime.now_unix = now
    with _frozen_clock():
        botocore.auth.S3SigV4Auth(creds, "s3", region or "us-east-1").add_auth(req)
    assert req.headers["X-Amz-Date"] == _amz_date(now)
    return req.headers["Authorization"], req.headers["X-Amz-Content-SHA256"]


def test_header_signing_matches_botocore_s3sigv4auth():
    rng = random.Random(11)
    header_sets = [
        {},
        {"Range": "bytes=0-9"},
        {"Content-Type": "application/octet-stream", "x-amz-meta-room": "  r  1  "},
        {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "If-None-Match": "*"},
        {"x-amz-storage-class": "REDUCED_REDUNDANCY", "Cache-Control": "no-cache,\t no-store"},
    ]
    requests, expected = [], []
    for i in range(60):
        endpoint, style, bucket = rng.choice(ENDPOINTS)
        region = rng.choice(REGIONS)
        token = rng.random() < 0.3
        method = rng.choice(["GET", "PUT", "HEAD", "DELETE"])
        key = random_key(rng).lstrip("/") or "k"
        query = []
        if i % 5 == 0:  # a bucket-level request
            key, method = "", "GET"
            query = [("list-type", "2"), ("prefix", random_key(rng)), ("delimiter", "/")]
        elif i % 7 == 0:
            query = [("uploadId", "a/b+c=="), ("partNumber", str(rng.randint(1, 10000)))]
        headers = rng.choice(header_sets)
        body = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30))).encode() if method == "PUT" else b""
        unsigned = method == "PUT" and rng.random() < 0.3
        now = random_time(rng)
        auth, content_sha = _botocore_authorization(method, endpoint, style, bucket, key, query, headers, body,
                                                    region, token, now, unsigned)
        assert content_sha == ("UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body).hexdigest())
        req = {"mode": "header", "method": method, "endpoint": s3_uri(endpoint, style, bucket, region),
               "key": key, "now": now, "query": dict(query), "headers": headers, "payload_sha256": content_sha}
        if token:
            req["session_token"] = SESSION_TOKEN
        requests.append(req)
        expected.append((auth, f"{method} {key!r} {query} {headers} via {endpoint} {style} region={region!r}"))
    ours = run_cli(requests)
    for o, (t, what) in zip(ours, expected):
        assert o == t, f"{what}\n ours:     {o}\n botocore: {t}"


def test_expiry_bounds_and_bad_uris_give_errors():
    uri = s3_uri("http://127.0.0.1:9000", "path", "b", "")
    lines = run_cli([
        {"endpoint": uri, "key": "k", "now": 0, "expires": 0},
        {"endpoint": uri, "key": "k", "now": 0, "expires": 604801},
        {"endpoint": uri, "key": "k", "now": 0, "expires": 604800},
        {"endpoint": uri, "key": "k", "now": 0, "expires": 1},
        {"endpoint": "s3://ak:sk@h/b", "key": "k", "now": 0},
        {"endpoint": "http://ak:sk@h/b?colour=red", "key": "k", "now": 0},
    ])
    assert lines[0].startswith("ERROR") and "604800" in lines[0]
    assert lines[1].startswith("ERROR") and "604800" in lines[1]
    assert "X-Amz-Expires=604800&" in lines[2]
    assert "X-Amz-Expires=1&" in lines[3]
    assert lines[4].startswith("ERROR") and "s3" in lines[4]
    assert lines[5].startswith("ERROR") and "colour" in lines[5]
