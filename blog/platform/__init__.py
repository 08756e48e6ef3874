"""App-wide plumbing every page and command relies on: security headers, rate limits, templating,
absolute URLs, time zones, assets, logs, health checks, `weeknote doctor` and the error pages."""
