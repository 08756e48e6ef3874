"""One message: build it, sign it (DKIM), send it over SMTP or into the development outbox."""
