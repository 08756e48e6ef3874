"""DKIM: a signed digest verifies against the public key, and the signature covers List-Unsubscribe."""

import re

import dkim
import pytest
from helpers import rsa_key

from blog.config import parse_sender
from blog.mail.message import build_message, list_headers
from blog.mail.signing import DKIMSigner, signer_from_config


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    private, public = rsa_key()
    return private, b"v=DKIM1; k=rsa; p=" + public.encode()


def message():
    return build_message(
        sender=parse_sender("Weeknote <digest@blog.example.com>"),
        to="reader@example.com",
        subject="Weeknote — 3 new posts (Jan 15–21)",
        text="Hello\n" + "long line " * 30,
        html="<p>Hello</p>",
        headers=list_headers(
            "Weeknote <digest.blog.example.com>", "https://blog.example.com/unsubscribe/abc"
        ),
    )


def wire_bytes(message) -> bytes:
    """The bytes as they go on the wire: CRLF line endings."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def test_signed_message_verifies_and_covers_list_unsubscribe(keys):
    private, record = keys
    signed = DKIMSigner("blog.example.com", "wk1", private)(wire_bytes(message()))
    dns = {b"wk1._domainkey.blog.example.com.": record}
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: dns.get(name))
    signature = " ".join(signed.split(b"\r\n\r\n")[0].decode().split("DKIM-Signature:")[1].split())
    covered = re.search(r"h=([^;]+)", signature).group(1).replace(" ", "").lower().split(":")
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post", "list-id"} <= set(covered)


def test_changed_unsubscribe_header_breaks_the_signature(keys):
    private, record = keys
    signed = DKIMSigner("blog.example.com", "wk1", private)(wire_bytes(message()))
    tampered = signed.replace(b"unsubscribe/abc", b"unsubscribe/xyz")
    dns = {b"wk1._domainkey.blog.example.com.": record}
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: dns.get(name))


def test_key_from_a_file(keys, tmp_path):
    path = tmp_path / "dkim.pem"
    path.write_text(keys[0])
    signer = signer_from_config(
        {"DKIM_DOMAIN": "blog.example.com", "DKIM_SELECTOR": "wk1", "DKIM_PRIVATE_KEY": str(path)}
    )
    assert signer is not None and signer.key.startswith(b"-----BEGIN")


def test_configuration_errors_are_specific():
    assert signer_from_config({}) is None
    with pytest.raises(ValueError, match="needs all of DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY"):
        signer_from_config({"DKIM_DOMAIN": "blog.example.com"})
    with pytest.raises(ValueError, match="must be a PEM private key"):
        DKIMSigner("blog.example.com", "wk1", "not a key")
