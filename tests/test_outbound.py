"""fair/outbound.py: hosts resolved once at connection, refused when not public, and the
address checked is the one connected to, with TLS's SNI, the certificate's name and the Host
header still the URL's host. No database: a TLS server on loopback with a certificate for
"localhost" made here."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fair import outbound


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name "localhost" (its own trust anchor)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An HTTPS server on 127.0.0.1 recording each request's SNI name and Host header."""
    cert, key = _certificate(tmp_path_factory.mktemp("tls"))
    seen: dict[str, Any] = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length", "0")))
            seen["host"].append(self.headers["host"])
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def sni(_socket: Any, name: str | None, _context: Any) -> None:
        seen["sni"].append(name)

    context.sni_callback = sni
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"port": server.server_address[1], "cert": cert, "seen": seen}
    finally:
        server.shutdown()
        server.server_close()


async def test_the_checked_address_with_the_names_kept(tls_server: dict[str, Any]) -> None:
    port, seen = tls_server["port"], tls_server["seen"]
    trusted = ssl.create_default_context(cafile=str(tls_server["cert"]))
    url = f"https://localhost:{port}/hook"
    allowed = outbound.transport(allow_private=True, ssl_context=trusted)
    async with httpx.AsyncClient(transport=allowed) as client:
        answer = await client.post(url, content=b"{}")
    # The certificate was checked against "localhost" (else the post raises), sent as SNI.
    assert (answer.status_code, seen["sni"], seen["host"]) == (
        204,
        ["localhost"],
        [f"localhost:{port}"],
    )
    refused = outbound.transport(ssl_context=trusted)
    async with httpx.AsyncClient(transport=refused) as client:
        with pytest.raises(outbound.NotPublic) as error:
            await client.post(url, content=b"{}")
    assert str(error.value).startswith("localhost resolves to ")
    assert str(error.value).endswith(": not a public address")
    assert seen["sni"] == ["localhost"]  # nothing reached the server


async def test_only_public_addresses_are_reached() -> None:
    """Every kind of address that is not public is refused, whatever its spelling."""
    for host in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "224.0.0.1", "0.0.0.0", "::1",
                 "fe80::1", "fc00::1", "::ffff:127.0.0.1", "240.0.0.1", "100.64.0.1",
                 "192.168.1.10", "172.16.0.1"):  # fmt: skip
        with pytest.raises(outbound.NotPublic):
            await outbound.resolve(host, 443)
        allowed = await outbound.resolve(host, 443, allow_private=True)
        assert [ipaddress.ip_address(a) for a in allowed] == [ipaddress.ip_address(host)]
    assert await outbound.resolve("93.184.216.34", 443) == ["93.184.216.34"]
    assert await outbound.resolve("2606:4700::1111", 443) == ["2606:4700::1111"]
