"""Authentication-Results (RFC 8601) as our own receiving server wrote them: did the sender fail SPF or DMARC?

Anyone can write an Authentication-Results header into a mail; only those whose authserv-id is one of our
own servers' (configured, `trusted_authserv_ids`) are read. A forged sender shows as `dmarc=fail` or
`spf=fail` there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

_COMMENT = re.compile(r"\([^()]*\)")
_FAIL = re.compile(r"(?:^|;)\s*(?:dmarc|spf)\s*=\s*fail\b", re.IGNORECASE)


def failed_authentication(headers: Mapping[str, Sequence[str]], trusted: Collection[str]) -> bool:
    """Whether a trusted server's Authentication-Results says the sender failed DMARC or SPF."""
    if not trusted:
        return False
    wanted = {t.lower() for t in trusted}
    for value in headers.get("authentication-results", []):
        text = _COMMENT.sub(" ", value)
        authserv = text.split(";", 1)[0].split()
        if authserv and authserv[0].lower() in wanted and _FAIL.search(text):
            return True
    return False
