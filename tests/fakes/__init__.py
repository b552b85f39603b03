"""Hand-written fakes for the boundaries that cannot run here (the Twilio API)."""
