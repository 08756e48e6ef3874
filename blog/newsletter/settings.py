"""The dispatcher's and delivery's settings, read from the app's config once per task."""

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

    @classmethod
    def from_config(cls, config) -> "DeliverySettings":
        return cls(
            batch_size=int(config["DELIVERY_BATCH_SIZE"]),
            claim_timeout=timedelta(seconds=float(config["DELIVERY_CLAIM_TIMEOUT"])),
            retry_base=float(config["DELIVERY_RETRY_BASE"]),
            max_lateness=timedelta(hours=float(config["DIGEST_MAX_LATENESS"])),
        )

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter, so deferred rows do not all return at once."""
        delay = min(self.retry_cap, self.retry_base * 2 ** max(attempts - 1, 0))
        return timedelta(seconds=delay * random.uniform(0.5, 1.0))
