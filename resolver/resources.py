"""Where the data folders that ship with Resolver live, in a checkout and in an installed wheel."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``workflows`` or ``templates``: inside the package when installed, beside it in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Resolver's {name!r} folder is missing from this installation")
