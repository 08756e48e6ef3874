"""Subscribing and leaving: double opt-in, signed links, the consent record, CSV import and export."""
