"""One line of `weeknote doctor`'s report, shared by its checks (doctor.py, mail_dns.py)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One line of the report: level is "ok", "warn" (worth knowing) or "fix" (a problem)."""

    level: str
    topic: str
    text: str
