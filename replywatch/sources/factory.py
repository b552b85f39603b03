"""Builds the Source for a configured source table."""

from __future__ import annotations

from pathlib import Path

from replywatch.config import CallsCsvSourceConfig, LocalMailSourceConfig, SmsCsvSourceConfig, SourceConfig
from replywatch.errors import ConfigError
from replywatch.sources.base import Source
from replywatch.sources.callscsv import CallsCsvSource
from replywatch.sources.local import EmlDirSource, MaildirSource, MboxSource
from replywatch.sources.smscsv import SmsCsvSource


def build_source(cfg: SourceConfig) -> Source:
    if isinstance(cfg, LocalMailSourceConfig):
        path = Path(cfg.path)
        if cfg.type == "maildir":
            return MaildirSource(cfg.name, path, cfg.sent_folders)
        if cfg.type == "eml-dir":
            return EmlDirSource(cfg.name, path, cfg.sent_folders)
        return MboxSource(cfg.name, path)
    if isinstance(cfg, SmsCsvSourceConfig):
        return SmsCsvSource(cfg.name, Path(cfg.path))
    if isinstance(cfg, CallsCsvSourceConfig):
        return CallsCsvSource(cfg.name, Path(cfg.path))
    if cfg.type == "imap":
        from replywatch.sources.imap import ImapSource  # imapclient loads only where IMAP is configured

        return ImapSource(cfg)
    if cfg.type == "twilio-calls":
        from replywatch.sources.twilio_calls import TwilioCallsSource

        return TwilioCallsSource(cfg)
    if cfg.type == "twilio":
        from replywatch.sources.twilio import TwilioSource  # the SDK loads only when a Twilio source is set

        return TwilioSource(cfg)
    raise ConfigError(f"source {cfg.name!r}: type {cfg.type!r} is not supported by this version yet")
