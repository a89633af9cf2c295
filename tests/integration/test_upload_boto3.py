"""Chunks recorded through the local presigner, checked with boto3 as an
independent S3 client: every chunk object exists once, with the right bytes."""
import os
import pathlib
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "s3"))
from s3rver_fixture import S3Server  # noqa: E402

BUILD = os.environ.get("ROOMREC_BUILD_DIR")
pytestmark = pytest.mark.skipif(not BUILD, reason="ROOMREC_BUILD_DIR not set (run through meson test)")


def client(endpoint):
    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
        region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))


def test_recorded_chunks_are_in_s3_once_with_the_right_bytes(tmp_path):
    with S3Server(buckets=("roomrec-test",)) as s3:
        uri = f"http://S3RVER:S3RVER@127.0.0.1:{s3.port}/roomrec-test/recordings?path_style=true"
        local = tmp_path / "local"
        out = subprocess.run(
            [os.path.join(BUILD, "tests", "record_tool"), "--out", uri, "--also-local", str(local),
             "--sessions", "3", "--packets", "400", "--room", "boto-room"],
            capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.strip().splitlines()
        room_path = lines[-1]
        uploaded = sorted(lines[:-1])
        assert room_path.startswith("app/boto-room/")
        assert len(uploaded) >= 3 * 2  # several chunks per session

        c = client(s3.endpoint)
        keys = []
        for page in c.get_paginator("list_objects_v2").paginate(Bucket="roomrec-test", Prefix="recordings/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        assert sorted(keys) == sorted("recordings/" + k for k in uploaded)
        assert len(set(keys)) == len(keys)
        for k in uploaded:
            body = c.get_object(Bucket="roomrec-test", Key="recordings/" + k)["Body"].read()
            assert body == (local / k).read_bytes(), k
            assert body[:8] == b"RRCHUNK\n"
        # Per session, indexes run 0..n-1 with no gap.
        sessions = {}
        for k in uploaded:
            parts = k.split("/")
            sessions.setdefault((parts[-3], parts[-2]), []).append(int(parts[-1].split("-")[0]))
        assert len(sessions) == 3
        for idx in sessions.values():
            assert sorted(idx) == list(range(len(idx)))
