"""Database models: posts, tags, old paths that redirect, subscribers, digests and the authors.

One home, in five files: `base` (the column types and helpers every model shares), `content`
(posts, tags, old addresses, import runs, settings, authors), `people` (subscribers and what
their mail brought back), `sending` (the schedule, digests and delivery rows) and `ledger`
(subscribers' preferences, their history and which digest carried which post to whom). Import
them from here: importing the package registers every table.
"""

from blog.models.base import (
    LARGEST_ID,
    UTCDateTime,
    as_utc,
    new_guid,
    new_message_key,
    new_token_secret,
    one_of,
    utcnow,
)
from blog.models.content import Author, ImportRun, ImportStatus, Post, PostTag, Redirect, Setting, Tag
from blog.models.ledger import CarriedPost, Frequency, PreferenceEvent
from blog.models.people import (
    BOUNCES,
    MailEvent,
    MailEventKind,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
    WebhookNonce,
)
from blog.models.sending import Delivery, DeliveryStatus, Digest, DigestStatus, Schedule

__all__ = [
    "BOUNCES", "LARGEST_ID", "Author", "CarriedPost", "Delivery", "DeliveryStatus", "Digest",
    "DigestStatus", "Frequency", "ImportRun", "ImportStatus", "MailEvent", "MailEventKind", "Post",
    "PostTag", "PreferenceEvent", "Redirect", "Schedule", "Setting", "Subscriber", "SubscriberStatus",
    "Suppression", "SuppressionReason", "Tag", "UTCDateTime", "WebhookNonce", "as_utc", "new_guid",
    "new_message_key", "new_token_secret", "one_of", "utcnow",
]  # fmt: skip
