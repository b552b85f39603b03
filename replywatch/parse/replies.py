"""The new text of a reply: quoted history, quote headers and the signature taken away."""

from __future__ import annotations

import re

_WINDOW_LINES = 4  # a quote header wraps over at most this many lines ("On …\n<addr>\nwrote:")
_WINDOW_CHARS = 400
_VERB_TAIL, _ADDRESS_TAIL = 30, 100

_VERBS = (
    r"wrote|writes|schrieb|a\s+écrit|escribió|escreveu|ha\s+scritto|schreef|skrev|kirjoitti|napisał(?:\(a\))?"
    r"|pisze|írta|написал[аи]?|пишет|写道|작성|のメッセージ"
)
_CLOSERS = (":", "：", "-")
_CLOSING_VERBS = frozenset(
    ("wrote", "writes", "schrieb", "écrit", "escribió", "escreveu", "scritto", "schreef")
)
# "On Mon, 3 Mar 2025, Dana <d@x> wrote:" and translations; Zoho closes it with "----".
_WROTE = re.compile(rf"\b(?:{_VERBS})\s*[:：]?\s*-*\s*$", re.IGNORECASE)
_VERB = re.compile(rf"\b(?:{_VERBS})\b", re.IGNORECASE)
# Gmail in several languages: "2017-11-24 16:32 GMT+01:00 Dana <d@x>:"; wraps put "<" or ">" apart.
_ADDRESS_COLON = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*>?\s*\)?\s*[:：]\s*$")
_HAS_DATE_OR_ADDRESS = re.compile(r"\d|@")
_OPENER = re.compile(r"^\s*(?:-+\s*)?(?:on|am|le|el|il|op|em|den|dnia|w\s+dniu|in\s+data)\b", re.IGNORECASE)
_WRAPPED_CLOSE = re.compile(r"^\s*>\s*[:：]\s*$")  # "… <dana@example.com" then ">:" on its own line
_SENTENCE_END = re.compile(r"(?<!\d)[.!?]\s*$")  # "23." (a German day) does not end a sentence

_FROM_KEYS = r"from|de|von|van|da|fra|från|od|от|lähettäjä|feladó|expéditeur|remitente"
_OTHER_KEYS = (
    r"sent|date|to|cc|subject|envoyé(?:\s+le)?|à|a|objet|sujet|copie\s+à|message\s+du|gesendet|datum|an|betreff"
    r"|verzonden|aan|onderwerp|inviato|data|oggetto|enviado|fecha|para|asunto|sendt|til|emne|dato|skickat|till"
    r"|ämne|wysłano|do|temat|отправлено|дата|кому|тема|lähetetty|vastaanottaja|aihe"
)
_KEY = re.compile(rf"^\s*\*?\s*(?:(?P<sender>{_FROM_KEYS})|{_OTHER_KEYS})\s*\*?\s*[:：]", re.IGNORECASE)
_FROM_WITH_ADDRESS = re.compile(
    rf"^\s*\*?(?:{_FROM_KEYS})\*?\s*:.*(?:<[^>]+@[^>]+>|\[mailto:)", re.IGNORECASE
)
_BLOCK_LINES = 7

_SEPARATOR = re.compile(
    r"""(?ix) ^\s* (?: -{2,}\s*(?:original\ message|ursprüngliche\ nachricht|message\ d'origine
      |mensaje\ original|messaggio\ originale|oorspronkelijk\ bericht|oprindelig\ besked|opprinnelig\ melding
      |ursprungligt\ meddelande|alkuperäinen\ viesti|wiadomość\ oryginalna|mensagem\ original
      |исходное\ сообщение|forwarded\ message|weitergeleitete\ nachricht|message\ transféré
      |mensaje\ reenviado)\s*-{2,}
    | begin\ forwarded\ message\s*: | anfang\ der\ weitergeleiteten\ nachricht\s*:
    | début\ du\ message\ réexpédié\s*: | inicio\ del\ mensaje\ reenviado\s*: ) \s*$"""
)
# Mobile footers. "Sent from my desk, it is faster." is a sentence, not a footer: footers never end one.
_FOOTER = re.compile(
    r"""(?ix) ^\s* (?: (?: sent\ from | (?:get|download)\ outlook\ for
    | (?:télécharger|obtenir)\ outlook\ pour | descargar\ outlook\ para
    | envoyé\ (?:de|depuis|à\ partir\ de) | gesendet\ (?:von|mit)
    | enviado\ (?:desde|de) | inviato\ da ) \ [^<\n]{1,60}?(?:<[^>]*>)?
    | von\ meinem\ [^<\n]{1,40}\ gesendet )
    (?<![.!?]) \s*$"""
)
_SIGNATURE_DELIMITER = re.compile(r"^(?:--|_{2,})\s*$")
_SEPARATOR_LINE = re.compile(r"^[\s\-_=*~]*$")


def reply_text(body: str, limit: int | None = None) -> str:
    """The text a person newly wrote in `body`: without quotes, quote headers, history and signature.

    With a `limit`, reading stops once that many characters are kept: they are final by then."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index, size = 0, 0
    while index < len(lines) and (limit is None or size <= limit):
        line = lines[index]
        if _is_quoted(line) or _is_wrapped_quote(lines, index):
            index += 1
            continue
        header_end = _quote_header_end(lines, index)
        if header_end is not None:
            if not _quote_follows(lines, header_end):
                break  # unquoted history follows (Outlook, Gmail in HTML): the rest is not new
            index = header_end  # the attribution line of a quoted block: both go
            continue
        if _ends_new_text(line):
            break
        kept.append(line.rstrip())
        index, size = index + 1, size + len(line) + 1
    text = _trim(kept)
    return text if limit is None else text[:limit]


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _is_wrapped_quote(lines: list[str], index: int) -> bool:
    """A line a mail client wrapped out of a quote: unquoted, between two quoted lines."""
    return 0 < index < len(lines) - 1 and _is_quoted(lines[index - 1]) and _is_quoted(lines[index + 1])


def _ends_new_text(line: str) -> bool:
    """A forward separator, a "-- " signature or list footer, a mobile footer. A sign-off ("Regards,
    Dana") stays: it is how a reply names its writer, and matching reads the name there."""
    return bool(_SEPARATOR.match(line) or _SIGNATURE_DELIMITER.match(line) or _FOOTER.match(line))


def _quote_header_end(lines: list[str], index: int) -> int | None:
    """When a quote header starts at `index`: the index after its last line."""
    line = lines[index]
    if not line.strip():
        return None
    if _SEPARATOR.match(line):
        return index + 1
    block_end = _header_block_end(lines, index)
    if block_end is not None:
        return block_end
    return _attribution_end(lines, index)


def _attribution_end(lines: list[str], index: int) -> int | None:
    """ "On … wrote:" over one to four lines; wrapped lines never end a sentence."""
    parts: list[str] = []
    for end in range(index, min(index + _WINDOW_LINES, len(lines))):
        line = lines[end]
        if not line.strip() or (_is_quoted(line) and not (parts and _WRAPPED_CLOSE.match(line))):
            return None
        if parts and _SENTENCE_END.search(parts[-1]):
            return None
        parts.append(line.strip())
        if sum(map(len, parts)) > _WINDOW_CHARS:
            return None
        if _could_close(parts[-1]) and _is_attribution(" ".join(parts), first=parts[0]):
            return end + 1
    return None


def _could_close(line: str) -> bool:
    """Only a line ending in a colon, a dash (Zoho) or the verb closes a header: a cheap test first."""
    return line.endswith(_CLOSERS) or line.rsplit(None, 1)[-1].lower() in _CLOSING_VERBS


def _is_attribution(window: str, first: str) -> bool:
    if not _HAS_DATE_OR_ADDRESS.search(window):
        return False
    # The verb or the address ends the header: only the tail is searched, which keeps long bodies fast.
    closes = _WROTE.search(window[-_VERB_TAIL:]) or _ADDRESS_COLON.search(window[-_ADDRESS_TAIL:])
    if not closes and not _verb_then_colon(window, first):
        return False
    return len(first) == len(window) or bool(_OPENER.match(first) or _HAS_DATE_OR_ADDRESS.search(first[:40]))


def _verb_then_colon(window: str, first: str) -> bool:
    """Thunderbird and German Gmail put the verb inside: "Am 25.06.2015 schrieb Dana:", "Dana <d@x>
    schrieb am So., 23. Juni 2024, 21:08:"."""
    if not window.endswith((":", "：")) or not (_OPENER.match(first) or "@" in window):
        return False
    return _VERB.search(window) is not None


def _header_block_end(lines: list[str], index: int) -> int | None:
    """An Outlook-style block ("From: … / Sent: … / To: … / Subject: …"): its end, else None."""
    first = _KEY.match(lines[index])
    if first is None:
        return None
    keys, has_sender, end, gap = 1, first.group("sender") is not None, index + 1, 0
    for offset in range(index + 1, min(index + _BLOCK_LINES, len(lines))):
        found = _KEY.match(lines[offset])
        if found:
            keys, end, gap = keys + 1, offset + 1, 0
            has_sender = has_sender or found.group("sender") is not None
        elif not lines[offset].strip() or gap:
            break  # one wrapped value may sit between two keys; a paragraph may not
        else:
            gap = 1
    if keys >= 2 and has_sender:
        return end
    return index + 1 if _FROM_WITH_ADDRESS.match(lines[index]) else None


def _quote_follows(lines: list[str], index: int) -> bool:
    """The next line with text is quoted: the header above was the attribution of a quote."""
    for line in lines[index:]:
        if line.strip():
            return _is_quoted(line)
    return True


def _trim(lines: list[str]) -> str:
    """Without separator lines at the end, blank lines around, runs of blank lines (left by quotes) folded."""
    while lines and _SEPARATOR_LINE.match(lines[-1]):
        lines.pop()
    folded = [line for index, line in enumerate(lines) if line or (index and lines[index - 1])]
    return "\n".join(folded).strip("\n")
