"""DKIM signatures (dkimpy) that cover the From, Subject and List-Unsubscribe headers."""

from pathlib import Path

import dkim

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post",
    b"feedback-id", b"cfbl-address", b"cfbl-feedback-id",  # RFC 9477 wants both CFBL ones signed
)  # fmt: skip


class DKIMSigner:
    """Signs each message with one domain's key; built once, used for a whole batch."""

    def __init__(self, domain: str, selector: str, private_key: str) -> None:
        key = private_key.strip()
        if not key.startswith("-----BEGIN") and Path(key).is_file():
            key = Path(key).read_text()
        if "PRIVATE KEY-----" not in key:
            raise ValueError("DKIM_PRIVATE_KEY must be a PEM private key, or the path of a file holding one")
        self.domain, self.selector, self.key = domain.encode(), selector.encode(), key.encode()

    def __call__(self, data: bytes) -> bytes:
        """Prepend a DKIM-Signature computed over the message bytes exactly as they are sent."""
        header_block = data.split(b"\r\n\r\n", 1)[0].lower()
        headers = [name for name in SIGNED_HEADERS if header_block.startswith(name + b":") or
                   b"\r\n" + name + b":" in header_block]  # fmt: skip
        signature = dkim.sign(
            data, self.selector, self.domain, self.key,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers,
        )  # fmt: skip
        return signature + data


def signer_from_config(config) -> DKIMSigner | None:
    """A signer when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY are all set, else None."""
    values = [config.get(name) for name in ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_PRIVATE_KEY")]
    if not any(values):
        return None
    if not all(values):
        raise ValueError("DKIM needs all of DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY")
    return DKIMSigner(*values)
