"""TLS stays on: a server whose CA is not trusted is an error that says what to do.

The emulator is served over HTTPS with a certificate of a CA made here (standing in for the
Russian Trusted Root CA, which default trust stores lack): without ``ca_bundle_file`` the
call fails with :class:`GigaChatCertificateError`; with it (or ``GIGACHAT_CA_BUNDLE_FILE``)
the call succeeds; ``verify_ssl_certs=False`` works too, with a warning.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from langchain_core.exceptions import ModelConnectionError

from polyvox.gigachat import GigaChat, GigaChatCertificateError, GigaChatInsecureWarning
from polyvox.testing.emulator.server import build_app, load_protocols
from polyvox.testing.emulator.state import EmulatorState


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 that it signed: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Trusted Root CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The emulator over HTTPS: its URL and the CA file that verifies it."""
    ca, cert, key = _certificates(tmp_path_factory.mktemp("tls"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(EmulatorState(), load_protocols()),
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"https://127.0.0.1:{port}", ca
    server.should_exit = True
    thread.join(5)


def _model(url: str, **fields: object) -> GigaChat:
    key = base64.b64encode(f"tls-{uuid.uuid4()}:secret".encode()).decode()
    return GigaChat(
        credentials=key,
        base_url=f"{url}/api/v1",
        auth_url=f"{url}/api/v2/oauth",
        max_retries=0,
        **fields,  # type: ignore[arg-type]
    )


def test_an_untrusted_ca_is_a_certificate_error_that_says_what_to_do(
    https: tuple[str, Path],
) -> None:
    url, _ = https
    with pytest.raises(GigaChatCertificateError) as caught:
        _model(url).invoke("hello")
    error = caught.value
    assert isinstance(error, httpx.ConnectError)
    assert isinstance(error, ModelConnectionError)
    message = str(error)
    assert "TLS certificate verification failed" in message
    assert "/api/v2/oauth" in message  # the OAuth endpoint is the first to be reached
    assert "Russian Trusted Root CA" in message
    assert "ca_bundle_file=" in message
    assert "GIGACHAT_CA_BUNDLE_FILE" in message
    assert "https://www.gosuslugi.ru/crt" in message


async def test_the_async_path_says_the_same(https: tuple[str, Path]) -> None:
    url, _ = https
    with pytest.raises(GigaChatCertificateError, match="Russian Trusted Root CA"):
        await _model(url).ainvoke("hello")


def test_ca_bundle_file_verifies_the_server(https: tuple[str, Path]) -> None:
    url, ca = https
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _model(url, ca_bundle_file=str(ca))
    assert model.invoke("hello").content
    assert "".join(str(c.content) for c in model.stream("hi"))


def test_ca_bundle_file_from_the_environment(
    https: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = https
    monkeypatch.setenv("GIGACHAT_CA_BUNDLE_FILE", str(ca))
    model = _model(url)
    assert model.ca_bundle_file == str(ca)
    assert model.invoke("hello").content


def test_turning_verification_off_is_explicit_and_warned(https: tuple[str, Path]) -> None:
    url, _ = https
    with pytest.warns(GigaChatInsecureWarning, match="verification is OFF"):
        model = _model(url, verify_ssl_certs=False)
    assert model.invoke("hello").content


def test_verification_off_from_the_environment_warns_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIGACHAT_VERIFY_SSL_CERTS", "False")
    with pytest.warns(GigaChatInsecureWarning):
        model = _model("https://127.0.0.1:1")
    assert model.verify_ssl_certs is False
