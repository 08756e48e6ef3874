"""Per-recipient envelope senders (VERP): `bounces+<token>@example.com` for BOUNCE_ADDRESS.

The token names what was sent, a digest's delivery row (`d42`) or a subscriber for the personal
emails (`s17`), and carries a signature, so a bounce addressed to it is matched without a lookup
table and a forged one is refused. It is itsdangerous's Signer with the signature written in
lower-case base32: some mail systems lower-case the local part of the address they bounce to.
Pure: no Flask; callers pass the bounce address and the app's secret.
"""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, Signer
from itsdangerous.encoding import want_bytes

SALT = "weeknote.bounce.verp"


class Sent(StrEnum):
    """What a token names: one digest's copy to one subscriber, or a subscriber (a personal email)."""

    DELIVERY = "d"
    SUBSCRIBER = "s"


@dataclass(frozen=True)
class Target:
    kind: Sent
    id: int


class _LowerCaseSigner(Signer):
    """Signs with HMAC-SHA256, the first 80 bits of it in lower-case base32 (16 characters)."""

    def get_signature(self, value: str | bytes) -> bytes:
        mac = self.algorithm.get_signature(self.derive_key(), want_bytes(value))
        return base64.b32encode(mac[:10]).lower()

    def verify_signature(self, value: str | bytes, sig: str | bytes) -> bool:
        return hmac.compare_digest(self.get_signature(value), want_bytes(sig).lower())


class Verp:
    """Envelope senders for one bounce address, and the reading of them back."""

    def __init__(self, bounce_address: str, secret_key: str) -> None:
        local, _, domain = bounce_address.rpartition("@")
        if not local or not domain or "+" in local:
            raise ValueError(f"BOUNCE_ADDRESS={bounce_address!r} must be one address with no '+' in it")
        self.local, self.domain = local, domain.lower()
        self.signer = _LowerCaseSigner(secret_key, salt=SALT, sep=".", digest_method=hashlib.sha256)
        token = r"([ds][0-9]{1,10}\.[a-z2-7]{16})"
        # In an address of ours (a bounce goes there), or in the CFBL-Feedback-ID a complaint quotes.
        self.pattern = re.compile(
            rf"{re.escape(local)}\+{token}@{re.escape(self.domain)}|^CFBL-Feedback-ID:[ \t]*{token}\b",
            re.IGNORECASE | re.MULTILINE,
        )

    def token(self, kind: Sent, ident: int) -> str:
        return self.signer.sign(f"{kind.value}{ident}").decode()

    def sender(self, kind: Sent, ident: int) -> str:
        """The envelope sender (MAIL FROM) for one message."""
        return f"{self.local}+{self.token(kind, ident)}@{self.domain}"

    def read(self, token: str) -> Target | None:
        """What a token names, or None when it is damaged or was not signed with this secret."""
        try:
            value = self.signer.unsign(token.lower()).decode()
        except BadSignature:
            return None
        return Target(Sent(value[0]), int(value[1:]))

    def targets_in(self, text: str) -> list[Target]:
        """Every genuine target named by an envelope sender of ours anywhere in the text, in order."""
        found: list[Target] = []
        for match in self.pattern.finditer(text):
            target = self.read(match.group(1) or match.group(2))
            if target is not None and target not in found:
                found.append(target)
        return found


def verp_from_config(config) -> Verp | None:
    """A Verp when BOUNCE_ADDRESS is set, else None (the envelope sender is MAIL_FROM's address)."""
    address = config.get("BOUNCE_ADDRESS")
    return Verp(address, config["SECRET_KEY"]) if address else None
