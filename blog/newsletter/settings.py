"""The dispatcher's and delivery's settings, read from the app's config once per task."""

import math
import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int = 200
    claim_timeout: timedelta = timedelta(minutes=10)
    retry_base: float = 30.0  # seconds before the first retry of a 4xx; doubles each time
    retry_cap: float = 1800.0  # below Redis's visibility timeout (an hour), so a waiting task stays one
    max_lateness: timedelta = timedelta(hours=12)  # a run later than this is held for review
    connections: int = 8  # SMTP connections at once across every worker (SMTP_CONNECTIONS)
    parallel: int = 2  # batch task chains per digest (DELIVERY_PARALLEL): they share the connections
    rates: tuple[tuple[int, int], ...] = ()  # SMTP_RATE_LIMIT as (messages, seconds) pairs
    post_mail_delay: timedelta = timedelta(minutes=10)  # POST_MAIL_DELAY: every-post mail waits this
    redis_url: str | None = None  # REDIS_URL: the pace, and the marks journaled on PostgreSQL

    @classmethod
    def from_config(cls, config) -> "DeliverySettings":
        return cls(
            batch_size=int(config["DELIVERY_BATCH_SIZE"]),
            claim_timeout=timedelta(seconds=float(config["DELIVERY_CLAIM_TIMEOUT"])),
            retry_base=float(config["DELIVERY_RETRY_BASE"]),
            max_lateness=timedelta(hours=float(config["DIGEST_MAX_LATENESS"])),
            connections=int(config["SMTP_CONNECTIONS"]),
            parallel=max(1, int(config["DELIVERY_PARALLEL"])),
            rates=tuple(config["SMTP_RATES"]),
            post_mail_delay=timedelta(minutes=float(config["POST_MAIL_DELAY"])),
            redis_url=config.get("REDIS_URL") or None,
        )

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter, so deferred rows do not all return at once."""
        delay = min(self.retry_cap, self.retry_base * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))

    @property
    def connections_per_task(self) -> int:
        """The connections one task opens: the chains of a digest share SMTP_CONNECTIONS."""
        return math.ceil(self.connections / self.parallel)

    @property
    def task_seconds(self) -> float:
        """How long a task sends before it hands over to the next in its chain: well inside
        Celery's time limit (half the claim timeout), so its claims never go stale."""
        return self.claim_timeout.total_seconds() * 0.4

    @property
    def journal_seconds(self) -> float:
        """How long a sender's journal in Redis (PostgreSQL) outlives its last drain: a week, or
        twice the claim timeout if that is longer. Its marks must still be there when its rows
        are taken over, and that waits for a worker, however long the workers were away."""
        return max(7 * 24 * 3600.0, 2 * self.claim_timeout.total_seconds())

    @property
    def lease_ttl(self) -> float:
        """Seconds a connection lease lives without renewal: a killed worker's places come back
        this long after it died."""
        return max(2.0, min(30.0, self.claim_timeout.total_seconds() / 2))
