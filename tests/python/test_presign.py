"""roomrec.presign against boto3 (same URL at a frozen instant) and against s3rver (a real PUT and GET)."""
from __future__ import annotations

import datetime
import types
import urllib.error
import urllib.parse
import urllib.request
from unittest import mock

import pytest

import roomrec
from conftest import boto_client, s3_uri

boto3 = pytest.importorskip("boto3")
import botocore.auth  # noqa: E402
from botocore.config import Config  # noqa: E402


class _Frozen(datetime.datetime):
    now_unix = 0

    @classmethod
    def utcnow(cls):
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=cls.now_unix)

    @classmethod
    def now(cls, tz=None):
        t = cls.utcnow()
        return t if tz is None else t.replace(tzinfo=datetime.timezone.utc).astimezone(tz)


def _parts(url):
    u = urllib.parse.urlsplit(url)
    return u.scheme, u.netloc, u.path, sorted(u.query.split("&"))


@pytest.mark.parametrize("method, op", [("PUT", "put_object"), ("GET", "get_object"), ("DELETE", "delete_object")])
def test_presigned_url_equals_boto3(method, op):
    now = 1731132577
    ours = roomrec.presign(method, "http://AKIDEXAMPLE:se%2Fcret@127.0.0.1:9000/bucket/pre/fix?path_style=true&region=eu-west-3",
                           "app/room/1/peer 1/000001-1-2.rec", 900, now)
    c = boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:9000", region_name="eu-west-3", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="se/cret", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    _Frozen.now_unix = now
    with mock.patch.object(botocore.auth, "datetime", types.SimpleNamespace(datetime=_Frozen)):
        theirs = c.generate_presigned_url(op, Params={"Bucket": "bucket", "Key": "pre/fix/app/room/1/peer 1/000001-1-2.rec"},
                                          ExpiresIn=900, HttpMethod=method)
    assert _parts(ours) == _parts(theirs)


def test_presigned_put_and_get_against_s3rver(s3server):
    body = b"roomrec presign \x00\x01\x02" * 100
    put = roomrec.presign("PUT", s3_uri(s3server, "presign"), "dir/obj.bin", 120)
    req = urllib.request.Request(put, data=body, method="PUT")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
    c = boto_client(s3server)
    assert c.get_object(Bucket="roomrec-test", Key="presign/dir/obj.bin")["Body"].read() == body
    get = roomrec.presign("GET", s3_uri(s3server, "presign"), "dir/obj.bin", 120)
    with urllib.request.urlopen(get, timeout=30) as r:
        assert r.read() == body
    # A wrong secret: s3rver checks the signature and refuses.
    bad = roomrec.presign("GET", f"http://S3RVER:wrong@127.0.0.1:{s3server.port}/roomrec-test/presign?path_style=true",
                          "dir/obj.bin", 120)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(bad, timeout=30)
    assert e.value.code == 403
