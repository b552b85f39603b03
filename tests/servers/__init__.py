"""Real servers the integration and end-to-end tests run against (Dovecot, OAuth2, SMTP), on loopback."""
