"""Notifications: the outbox's deliveries, the targets (email, Slack, Teams, a signed webhook), the alerts."""
