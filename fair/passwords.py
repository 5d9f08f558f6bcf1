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
# argon2-cffi's defaults (RFC 9106 low-memory profile: m=65536 KiB, t=3, p=4): what every
# process uses unless the test suite asks for `cheap_for_tests` (tests/test_passwords.py checks).
PRODUCTION = PasswordHasher()
# The lowest argon2id parameters, for the test suite only: its thousands of hashes would
# otherwise cost minutes of CPU and check nothing more than one real hash does.
_CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_hasher = PRODUCTION
_pool = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="argon2")
_TRAILING = re.compile(r"[\d\W_]+$")
# Verified against when a log-in names an unknown address, so that both cost the same.
DUMMY_HASH = _hasher.hash("not-a-real-password")
_DUMMY = {PRODUCTION: DUMMY_HASH}


def cheap_for_tests(on: bool) -> None:
    """Hash with the cheapest parameters (`on`) or the production ones again: tests/conftest.py
    only. A hash made either way still verifies either way (argon2 reads its parameters from the
    hash); a production process never calls this."""
    global _hasher, DUMMY_HASH
    _hasher = _CHEAP if on else PRODUCTION
    if _hasher not in _DUMMY:
        _DUMMY[_hasher] = _hasher.hash("not-a-real-password")
    DUMMY_HASH = _DUMMY[_hasher]


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
