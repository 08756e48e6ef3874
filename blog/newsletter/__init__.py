"""Mail: building messages, sending them, and the signed links every message carries."""
