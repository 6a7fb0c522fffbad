"""Files written whole or not at all, and small records read back with a one-line reason when they cannot be.

Every file is written to a temporary name in the same folder (created with the
user's umask) and renamed, so a reader never sees half a file; a manifest or
summary is fsynced first, so a crash right after cannot leave an empty file; a
failed write removes its temporary file. JSON has no NaN: undefined numbers are
written as null.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_file(path: Path) -> Path:
    """A new empty file next to ``path``, created with the user's umask (mode 0666 minus the umask)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")


def atomic_write(path: Path, writer: Callable[[Path], None], fsync: bool = False,
                 exclusive: bool = False) -> Path:
    """Call ``writer(tmp_path)``, then move the temporary file onto ``path``.

    Args:
        path: the file to write.
        writer: writes the content to the path it is given.
        fsync: flush the file to disk before it is renamed (and the folder after).
        exclusive: publish with a hard link, raising ``FileExistsError`` if ``path`` exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_file(path)
    try:
        writer(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if exclusive:
            os.link(tmp, path)
            tmp.unlink()
        else:
            os.replace(tmp, path)
        if fsync:
            _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return finite(obj.item())
    return obj


def write_json(path: Path, obj: Any, fsync: bool = True, exclusive: bool = False) -> Path:
    """Write ``obj`` as indented JSON, atomically and fsynced; undefined numbers (NaN) become null."""
    text = json.dumps(finite(obj), indent=2, sort_keys=False, default=json_default, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n"), fsync=fsync, exclusive=exclusive)


def write_table(path: Path, df: pd.DataFrame) -> Path:
    """Write a DataFrame atomically: CSV when ``path`` ends in ``.csv``, parquet otherwise."""
    if Path(path).suffix.lower() == ".csv":
        return atomic_write(path, lambda p: df.to_csv(p, index=False))
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def json_default(o: Any):
    """A numpy scalar or array as the plain Python value JSON can hold (``json.dumps(default=...)``)."""
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def read_record(path: Path, parse: Callable[[str], Any] = json.loads, expected: type = dict) -> Any:
    """A small file parsed by ``parse`` (JSON by default), checked to be an ``expected``.

    Raises:
        ValueError: one line naming the file and why it cannot be read (missing, corrupt, wrong shape).
    """
    path = Path(path)
    try:
        value = parse(path.read_text())
    except Exception as err:  # OSError, decoding errors and each parser's own error types
        raise ValueError(f"{path}: unreadable ({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None
    if not isinstance(value, expected):
        raise ValueError(f"{path}: unreadable (not a {expected.__name__})")
    return value

