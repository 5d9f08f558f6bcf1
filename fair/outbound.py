"""HTTP to addresses that others typed (webhook receivers): an httpx transport that resolves
each host name once, when it connects, refuses an address that is not public (loopback,
private, link-local, multicast, reserved, unspecified…), and connects to the very address it
checked, so that a name answering a public address to a check and a private one to the
connection (DNS rebinding) reaches nothing inside.

How: httpcore's connection pool takes a network backend; `_Checked` is one whose
`connect_tcp(host, port)` resolves `host` with the event loop's getaddrinfo (in its thread
pool, off the loop), keeps the public addresses, and opens the socket to the first of them
that accepts, through httpcore's anyio backend. TLS is then started by httpcore as always,
with the host name as SNI and as the name the certificate is checked against, and the Host
header is the URL's: nothing but the socket's address changes. Proxies from the environment
are not used (a proxy would make the check meaningless).

httpx internals touched: `AsyncHTTPTransport._pool` (replaced by a pool with this backend).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class NotPublic(httpx.ConnectError):
    """The host resolves to no public address (or to none at all)."""


def public(address: Address) -> bool:
    """Whether an address is on the public Internet (an IPv4-mapped IPv6 address as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_link_local
        or address.is_loopback
        or address.is_private
    )


async def resolve(host: str, port: int, *, allow_private: bool = False) -> list[str]:
    """The addresses to connect to for `host`, in the resolver's order: its public ones (all,
    with `allow_private`); NotPublic when there is none."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise NotPublic(f"{host} cannot be resolved: {exc}") from None
    addresses = _addresses(info[4][0] for info in found)
    usable = addresses if allow_private else [a for a in addresses if public(a)]
    if not usable:
        shown = ", ".join(str(a) for a in addresses) or "nothing"
        raise NotPublic(f"{host} resolves to {shown}: not a public address")
    return [str(a) for a in usable]


def _addresses(raw: Iterable[Any]) -> list[Address]:
    found: list[Address] = []
    for text in raw:
        address = ipaddress.ip_address(str(text).split("%", 1)[0])  # an IPv6 zone dropped
        if address not in found:
            found.append(address)
    return found


class _Checked(httpcore.AsyncNetworkBackend):
    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve(host, port, allow_private=self.allow_private)
        for address in addresses[:-1]:  # the next one when refused (localhost: ::1, 127.0.0.1)
            try:
                return await self._connect(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError:
                continue
        return await self._connect(addresses[-1], port, timeout, local_address, socket_options)

    async def _connect(
        self,
        address: str,
        port: int,
        timeout: float | None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> httpcore.AsyncNetworkStream:
        return await self.backend.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise NotPublic("not a network address")

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


def transport(
    *,
    allow_private: bool = False,
    max_connections: int = 100,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport that reaches public addresses only (see the module's docstring)."""
    made = httpx.AsyncHTTPTransport(trust_env=False)
    made._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        network_backend=_Checked(allow_private=allow_private),
    )
    return made
