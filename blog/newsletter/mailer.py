"""Each recipient's copy of a digest, from a template built once per digest."""

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address

from blog.mail.message import HeaderInjectionError, build_message, copy_message_id, list_headers
from blog.mail.transport import PreparedMessage
from blog.mail.verp import Sent, Verp
from blog.models import Digest
from blog.newsletter.compose import PREFERENCES_URL, RECIPIENT_LINKS, UNSUBSCRIBE_URL


@dataclass(frozen=True)
class Recipient:
    """What sending needs of a subscriber (plain data: the session holds no objects per row)."""

    id: int
    email: str
    token_secret: str


class DigestMailer:
    """Builds each recipient's message from the frozen digest: only To, links and IDs differ
    (and, with BOUNCE_ADDRESS, the envelope sender; with COMPLAINTS_ADDRESS, CFBL-Feedback-ID).

    The message is built once with EmailMessage, with markers where the recipient's values
    go; each recipient's copy is that template with the markers replaced. The two bodies are
    quoted-printable encoded once too, around the places the unsubscribe link goes (see
    EncodedBody). That keeps personalisation cheap: a 100,000-recipient digest is rendered,
    encoded and assembled once, not 100,000 times.
    """

    MARK = "weeknote-mark-{}"

    def __init__(
        self,
        digest: Digest,
        sender: Address,
        list_id: str,
        unsubscribe_url: Callable[[Recipient], str],
        sign: Callable[[bytes], bytes] | None = None,
        verp: Verp | None = None,
        feedback_id: str = "",
        complaints_address: str = "",
        preferences_url: Callable[[Recipient], str] | None = None,
    ) -> None:
        # Plain copies: the ORM object expires at every commit of the batch and would reload.
        self.digest_id, self.message_key = digest.id, digest.message_key
        self.text, self.html = EncodedBody(digest.text), EncodedBody(digest.html)
        self.sender, self.unsubscribe_url, self.sign = sender, unsubscribe_url, sign
        self.preferences_url = preferences_url or unsubscribe_url
        self.verp = verp
        names = ["to", "id", "unsubscribe", "text", "html"]
        headers = list_headers(list_id, f"https://{self.MARK.format('unsubscribe')}.invalid/")
        if feedback_id:
            headers["Feedback-ID"] = feedback_id  # Gmail's feedback loop: complaints counted per digest
        if complaints_address:
            # RFC 9477: receivers send complaint reports there, quoting the (signed) headers.
            headers["CFBL-Address"] = f"{complaints_address}; report=arf"
            if verp is not None:  # the delivery's token: a report names the copy complained of
                headers["CFBL-Feedback-ID"] = self.MARK.format("feedback")
                names.append("feedback")
        marks = {name: self.MARK.format(name) for name in names}
        template = build_message(
            sender=sender,
            to=f"{marks['to']}@example.invalid",
            subject=digest.subject,
            text=marks["text"],
            html=marks["html"],
            headers=headers,
            cte="quoted-printable",
        )
        template.replace_header("Message-ID", f"<{marks['id']}@example.invalid>")
        data = template.as_bytes(policy=template.policy.clone(linesep="\r\n"))
        self.pieces = _split_on_marks(data, marks)

    def message_id(self, delivery_id: int) -> str:
        """Stable per delivery, so a rare duplicate carries the same Message-ID as the first; the
        digest's random key keeps it unique across sites and databases that share a domain."""
        return copy_message_id(self.digest_id, delivery_id, self.message_key, self.sender.domain)

    def message_for(self, delivery_id: int, recipient: Recipient) -> PreparedMessage:
        url, preferences = self.unsubscribe_url(recipient), self.preferences_url(recipient)
        if any(char in value for value in (recipient.email, url, preferences) for char in "\r\n"):
            raise HeaderInjectionError(f"line break in a recipient's address or link: {recipient.email!r}")
        message_id = self.message_id(delivery_id)
        links = {
            UNSUBSCRIBE_URL: SOFT_BREAK + _quoted_printable(url) + SOFT_BREAK,
            PREFERENCES_URL: SOFT_BREAK + _quoted_printable(preferences) + SOFT_BREAK,
        }
        values = {
            "to": recipient.email.encode(),
            "id": message_id.strip("<>").encode(),
            "unsubscribe": url.encode(),
            "text": self.text.with_links(links),
            "html": self.html.with_links(links),
        }
        envelope = self.sender.addr_spec
        if self.verp is not None:
            envelope = self.verp.sender(Sent.DELIVERY, delivery_id)
            values["feedback"] = self.verp.token(Sent.DELIVERY, delivery_id).encode()
        data = b"".join(values[piece] if isinstance(piece, str) else piece for piece in self.pieces)
        if self.sign is not None:
            data = self.sign(data)
        return PreparedMessage(envelope, recipient.email, message_id, data)


def _split_on_marks(data: bytes, marks: dict[str, str]) -> list:
    """Cut the template into literal bytes and the names of the values that go between them."""
    replacements = {
        f"{marks['to']}@example.invalid": "to",
        f"{marks['id']}@example.invalid": "id",
        f"https://{marks['unsubscribe']}.invalid/": "unsubscribe",
        marks["text"]: "text",
        marks["html"]: "html",
    }
    if "feedback" in marks:
        replacements[marks["feedback"]] = "feedback"
    pieces: list = [data]
    for marker, name in replacements.items():
        split = []
        for piece in pieces:
            if isinstance(piece, bytes) and marker.encode() in piece:
                before, after = piece.split(marker.encode(), 1)
                split += [before, name, after]
            else:
                split.append(piece)
        pieces = split
    missing = set(replacements.values()) - {piece for piece in pieces if isinstance(piece, str)}
    if missing:
        raise AssertionError(f"the message template lost its markers: {missing}")
    return pieces


SOFT_BREAK = b"=\r\n"  # a quoted-printable line break that decoding removes


_RECIPIENT_LINK = re.compile("(" + "|".join(re.escape(link) for link in RECIPIENT_LINKS) + ")")


class EncodedBody:
    """A composed body, quoted-printable encoded once in the pieces between its recipient links.

    Each piece and each recipient's link is encoded on its own and joined with soft line
    breaks, so a line never spans a piece boundary: the decoded body is exactly the composed
    one with the links put in, and no line is longer than quoted-printable allows.
    """

    def __init__(self, body: str) -> None:
        parts = _RECIPIENT_LINK.split(body)  # text, link marker, text, link marker, ..., text
        self.pieces = [part if index % 2 else _quoted_printable(part) for index, part in enumerate(parts)]

    def with_links(self, encoded: dict[str, bytes]) -> bytes:
        """The body for one recipient, given each marker's SOFT_BREAK + encoded link + SOFT_BREAK."""
        return b"".join(encoded[piece] if isinstance(piece, str) else piece for piece in self.pieces)


def _quoted_printable(text: str) -> bytes:
    """A body part's content, quoted-printable with CRLF line ends, as the template declares."""
    return binascii.b2a_qp(text.encode(), istext=True).replace(b"\n", b"\r\n")
