"""replywatch: measures Contact, the moment a customer answers our follow-up on their lead."""

__version__ = "0.1.0"
