"""Editing the station's TOML config in place, keeping its comments and layout."""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.files import write_atomic
from station import config as config_mod
from station.errors import ConfigError


@dataclass(frozen=True)
class ConfigEdit:
    """A station config's new text, checked to load, waiting to replace the file."""

    path: Path
    text: str
    mode: int
    owner: tuple[int, int]

    @classmethod
    def prepare(cls, path: Path, updates: dict[tuple[str, str], Any]) -> "ConfigEdit":
        try:
            st = path.stat()
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        new = set_toml_values(text, updates)
        config_mod.parse(new, base_dir=path.resolve().parent, source=path)  # never write a config that won't load
        return cls(path, new, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid))

    def commit(self) -> None:
        """Replace the file atomically, keeping its mode and (when root) its owner."""
        try:
            write_atomic(self.path, self.text.encode("utf-8"), self.mode)
            if os.geteuid() == 0:
                os.chown(self.path, *self.owner)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from None


def update_config_file(path: Path, updates: dict[tuple[str, str], Any]) -> None:
    """Set ``table.key`` values in a station config, atomically, keeping mode, owner and comments."""
    ConfigEdit.prepare(path, updates).commit()


_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*\]\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)(\s*=\s*)(.*)$")
_SIMPLE_VALUE = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#"'\[{]+)(\s*#.*)?$""")


def set_toml_values(text: str, updates: dict[tuple[str, str], Any]) -> str:
    """Replace or add ``key = value`` lines in ``[table]`` sections, leaving every other line as it was.

    Handles the plain layout ``rekam station init`` writes; anything it cannot
    edit safely (dotted keys, inline tables) is caught by comparing the parse
    of the result with what was asked, and reported instead of written.
    """
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the station config is not valid TOML: {exc}") from None
    lines = text.splitlines()
    pending = dict(updates)
    table: str | None = None
    last_in_table: dict[str, int] = {}
    for i, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            table = re.sub(r"\s+", "", header.group(1))
            last_in_table.setdefault(table, i)
            continue
        if _ARRAY_HEADER.match(line):
            table = None
            continue
        m = _KEY.match(line)
        if m and table is not None:
            last_in_table[table] = i
            key = (table, m.group(2))
            if key in pending:
                value = _toml_value(pending.pop(key))
                simple = _SIMPLE_VALUE.match(m.group(4).strip())
                comment = simple.group(2) if simple and simple.group(2) else ""
                lines[i] = f"{m.group(1)}{m.group(2)}{m.group(3)}{value}{comment}"
    inserts: dict[int, list[str]] = {}
    appended: list[str] = []
    for (tbl, key), value in pending.items():
        line = f"{key} = {_toml_value(value)}"
        if tbl in last_in_table:
            inserts.setdefault(last_in_table[tbl], []).append(line)
        else:
            if not any(ln == f"[{tbl}]" for ln in appended):
                appended += ["", f"[{tbl}]"]
            appended.append(line)
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        out.extend(inserts.get(i, []))
    out.extend(appended)
    result = "\n".join(out) + "\n"
    try:
        after = tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"could not update the station config safely ({exc}); set these by hand: "
                          + ", ".join(f"{t}.{k} = {_toml_value(v)}" for (t, k), v in updates.items())) from None
    expected = _apply(before, updates)
    if after != expected:
        raise ConfigError("could not update the station config safely (unusual layout); set these by hand: "
                          + ", ".join(f"{t}.{k} = {_toml_value(v)}" for (t, k), v in updates.items()))
    return result


def _apply(doc: dict[str, Any], updates: dict[tuple[str, str], Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    for (tbl, key), value in updates.items():
        out.setdefault(tbl, {})[key] = value
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
