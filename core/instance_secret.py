"""A generated SECRET_KEY kept in the instance file, for `make run` and debug runs (never overwritten)."""
from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path

SECRET_LINE = re.compile(r"^\s*SECRET_KEY\s*=", re.MULTILINE)


def _configured_key(cfg_file: Path) -> str | None:
    """The ``SECRET_KEY`` the instance file sets, or None when it sets none."""
    if not cfg_file.exists():
        return None
    values: dict[str, object] = {}
    exec(compile(cfg_file.read_text(encoding="utf-8"), str(cfg_file), "exec"), values)  # noqa: S102  (as Flask reads it)
    key = values.get("SECRET_KEY")
    return str(key) if key else None


def ensure_secret_key(instance_path: str) -> str:
    """The instance file's ``SECRET_KEY``; when it has none, append a new random one first.

    The key is written once and kept across runs (sessions and stored store credentials stay
    valid); an existing key is never replaced. The file is readable by its owner only.
    """
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    cfg_file = folder / "mizan.cfg"
    existing = _configured_key(cfg_file)
    if existing is not None:
        return existing
    if cfg_file.exists() and SECRET_LINE.search(cfg_file.read_text(encoding="utf-8")):
        raise SystemExit(f"{cfg_file} sets an empty SECRET_KEY; give it a value or remove the line.")
    key = secrets.token_hex(32)
    descriptor = os.open(cfg_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as output:
        output.write(f'\n# Generated once by Mizan; keep it secret and keep it: it signs sessions and\n'
                     f'# derives the key that encrypts store credentials.\nSECRET_KEY = "{key}"\n')
    return key


def default_instance_path() -> str:
    """The instance folder :func:`core.create_app` uses when none is given."""
    from flask import Flask

    return Flask("core", instance_relative_config=True).instance_path


def main() -> None:
    """``python -m core.instance_secret [INSTANCE_PATH]``: make sure the instance file has a key."""
    instance_path = sys.argv[1] if len(sys.argv) > 1 else default_instance_path()
    before = _configured_key(Path(instance_path) / "mizan.cfg")
    ensure_secret_key(instance_path)
    state = "kept" if before else "generated"
    print(f"SECRET_KEY {state} in {Path(instance_path) / 'mizan.cfg'}")


if __name__ == "__main__":
    main()
