"""Passwords: argon2 hashing off the event loop, and the passwords we refuse.

An argon2 hash takes tens of milliseconds of CPU on purpose. Run on the event loop, a burst of
log-ins (a fair opening) would stall every page and socket of the process, so hashing and
verifying run in a small pool of threads (argon2-cffi releases the GIL while it works): at
most `POOL_SIZE` at once per process, the others wait their turn without blocking the loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

POOL_SIZE = 2
COMMON_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.json"
_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="argon2")
_TRAILING = re.compile(r"[\d\W_]+$")
# Verified against when a log-in names an unknown address, so that both cost the same.
DUMMY_HASH = _hasher.hash("not-a-real-password")


async def _run(function: Any, *args: str) -> Any:
    return await asyncio.get_running_loop().run_in_executor(_pool, function, *args)


async def hash(password: str) -> str:
    """The argon2id hash of `password`, computed in the pool."""
    return str(await _run(_hasher.hash, password))


async def verify(stored: str, password: str) -> bool:
    """Whether `password` matches the `stored` hash (never raises for a bad or unusable one)."""
    return bool(await _run(_verify, stored, password))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


@functools.cache
def common() -> frozenset[str]:
    """A few hundred of the most used passwords, French ones included (fair/data)."""
    return frozenset(json.loads(COMMON_FILE.read_text(encoding="utf-8")))


def is_common(password: str) -> bool:
    """On the list, ignoring case and spaces around it, with or without trailing digits or
    symbols ("Azerty123!" is "azerty")."""
    lowered = password.strip().lower()
    stripped = _TRAILING.sub("", lowered)
    return lowered in common() or (bool(stripped) and stripped in common())
