"""Presigning S3 URLs locally (for hosts that act as their own connector)."""
from __future__ import annotations

from typing import Optional

from ._lib import lib, u8
from .errors import out_string


def presign(method: str, s3_uri: str, key: str, expires_s: int = 3600, unix_time: Optional[int] = None) -> str:
    """A SigV4 presigned URL for METHOD on {s3_uri prefix}/{key}, valid expires_s from unix_time (default now).

    s3_uri: http(s)://KEY:SECRET@host[:port]/bucket[/prefix]?path_style=true&region=...
    """
    return out_string(lib.roomrec_s3_presign, u8(method), u8(s3_uri), u8(key), int(expires_s),
                      0 if unix_time is None else int(unix_time))
