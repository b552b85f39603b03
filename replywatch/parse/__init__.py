"""Turning raw items (mail bytes, SMS rows, ADF/XML, lead CSV) into typed records; pure, no I/O."""
