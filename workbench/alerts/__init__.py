"""Alerts: a webhook (JSON POST) and/or e-mail (SMTP) when something needs a person, each an audit event."""
