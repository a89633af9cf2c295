"""The lifecycle every wrapper of a C handle shares: handle, free(), context manager, finaliser."""
from __future__ import annotations

from typing import Any, Optional

from .errors import ErrorCode, InvalidArgumentError


class Handle:
    """Owns one C handle. Subclasses name it (`_what`) and release it (`_release`); `free()` is
    idempotent, `with` frees on exit, and the garbage collector frees what was forgotten."""

    _what = "handle"
    _h: Optional[int] = None

    @property
    def handle(self) -> int:
        """The C handle; InvalidArgumentError once freed."""
        if self._h is None:
            raise InvalidArgumentError(ErrorCode.INVALID_ARGUMENT, f"{self._what} is freed")
        return self._h

    def _release(self, h: int) -> None:
        raise NotImplementedError

    def free(self) -> None:
        h, self._h = self._h, None
        if h is not None:
            self._release(h)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.free()

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:
            pass
