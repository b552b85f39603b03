"""ADF/XML lead notifications (as providers really send them) parsed safely into LeadRecords."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element
from xml.etree.ElementTree import ParseError as XMLSyntaxError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.common import DefusedXmlException
from defusedxml.ElementTree import fromstring

from replywatch.errors import ParseError, UnsafeXMLError
from replywatch.parse.types import LeadRecord

_ADF_OPEN = re.compile(r"<adf(?=[\s/>])", re.IGNORECASE)
# CDATA and comments are skipped so that markup a customer typed into <comments> cannot end the document.
_ADF_CLOSE = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|(</adf\s*>)", re.IGNORECASE | re.DOTALL)
# What may stand between the start of a document and its <adf> element: whitespace, processing
# instructions (the XML declaration, `<?ADF VERSION "1.0"?>`), comments and a DOCTYPE with its subset.
# One whitespace character per repetition keeps the pattern linear (no nested quantifiers); only XML
# whitespace, so a stray no-break space from an HTML body ends the prolog instead of breaking the parse.
_PROLOG = re.compile(
    r"""(?:[\ \t\r\n]
        |<\?(?:(?!\?>).)*\?>
        |<!--(?:(?!-->).)*-->
        |<!DOCTYPE\b[^\[>]*(?:\[(?:[^\]"']|"[^"]*"|'[^']*')*\]\s*)?>
    )*""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_PROLOG_START = re.compile(r"<\?|<!--|<!DOCTYPE\b", re.IGNORECASE)
_PROCESSING_INSTRUCTION = re.compile(r"<\?(?:(?!\?>).)*\?>", re.DOTALL)
_ENTITY_DECLARATION = re.compile(r"<!ENTITY\b", re.IGNORECASE)
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})


def find_adf(text: str) -> bool:
    """Whether a text body looks like it holds an ADF document (cheap; does not parse)."""
    return _ADF_OPEN.search(text) is not None


@dataclass(frozen=True)
class AdfLimits:
    """How much one input may carry: beyond it the whole input is refused (quarantined), never cut."""

    document_chars: int
    prospects: int


# A lead notice from the public lead inbox: one prospect is the norm, a provider's batch a few dozen. The
# document limit is the IMAP source's default text part cap, so every mail source refuses the same mail.
NOTICE_LIMITS = AdfLimits(document_chars=256 * 1024, prospects=50)


def parse_adf(
    data: bytes | str,
    *,
    default_source: str = "adf",
    fallback_id: str | None = None,
    limits: AdfLimits | None = None,
) -> list[LeadRecord]:
    """One LeadRecord per <prospect> of every <adf> document in `data`.

    A prospect without <id> takes `fallback_id` (the k-th prospect of the input, k >= 2, takes
    `fallback_id-k`); without a fallback it is a ParseError. Beyond `limits`, a ParseError.
    """
    text = _decode(data) if isinstance(data, bytes) else data
    documents = list(_documents(text.lstrip("\ufeff")))
    if not documents:
        raise ParseError("no ADF document found (no <adf> element)")
    leads: list[LeadRecord] = []
    for document in documents:
        _check_size(document, limits)
        root = _parse_xml(document)
        prospects = _children(root, "prospect")
        if not prospects:
            raise ParseError("ADF document has no <prospect>")
        if limits and len(leads) + len(prospects) > limits.prospects:
            raise ParseError(f"more than {limits.prospects} ADF prospects in one notice: refused whole")
        for prospect in prospects:
            fallback = _numbered_fallback(fallback_id, len(leads))
            leads.append(_lead(prospect, default_source, fallback))
    return leads


def _check_size(document: str, limits: AdfLimits | None) -> None:
    if limits and len(document) > limits.document_chars:
        raise ParseError(
            f"ADF document of {len(document):,} characters (limit {limits.document_chars:,}): refused whole"
        )


def _decode(data: bytes) -> str:
    # The XML declaration's encoding is not trusted: providers declare utf-16 on UTF-8 bytes.
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace")
    if data[:2] in (b"<\x00", b"\x00<"):
        return data.decode("utf-16-le" if data[0] else "utf-16-be", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _documents(text: str) -> Iterator[str]:
    """Each <adf>…</adf> in `text` with the prolog just before it, XML declarations and PIs removed."""
    position = 0
    while (opening := _ADF_OPEN.search(text, position)) is not None:
        before = text[position : opening.start()]
        prolog = _prolog(before)
        # A DOCTYPE cut off from its <adf> by junk would otherwise surface as a mere "undefined entity".
        if _ENTITY_DECLARATION.search(before[: len(before) - len(prolog)]):
            raise UnsafeXMLError("ADF XML refused: it declares entities (nothing was expanded)")
        end = _element_end(text, opening.end())
        yield _PROCESSING_INSTRUCTION.sub("", prolog) + text[opening.start() : end]
        position = end


def _element_end(text: str, after_name: int) -> int:
    tag_end = text.find(">", after_name)
    if tag_end > 0 and text[tag_end - 1] == "/":
        return tag_end + 1
    closing = next((m for m in _ADF_CLOSE.finditer(text, after_name) if m.group(1)), None)
    if tag_end < 0 or closing is None:
        raise ParseError("malformed ADF XML: <adf> is never closed (truncated document?)")
    return closing.end()


def _prolog(before: str) -> str:
    """The tail of `before` that is only prolog markup (anything earlier is a mail's surrounding junk)."""
    for start in _PROLOG_START.finditer(before):
        if _PROLOG.fullmatch(before, start.start()):
            return before[start.start() :]
    return ""


def _parse_xml(document: str) -> Element:
    try:
        return fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise UnsafeXMLError("ADF XML refused: it has a DOCTYPE (DTDs are never processed)") from exc
    except EntitiesForbidden as exc:
        raise UnsafeXMLError("ADF XML refused: it declares entities (nothing was expanded)") from exc
    except ExternalReferenceForbidden as exc:
        raise UnsafeXMLError("ADF XML refused: it references an external entity") from exc
    except DefusedXmlException as exc:
        raise UnsafeXMLError(f"ADF XML refused: {exc}") from exc
    except XMLSyntaxError as exc:
        raise ParseError(f"malformed ADF XML: {exc}") from exc


def _numbered_fallback(fallback_id: str | None, index: int) -> str | None:
    if fallback_id is None or index == 0:
        return fallback_id
    return f"{fallback_id}-{index + 1}"


def _lead(prospect: Element, default_source: str, fallback_id: str | None) -> LeadRecord:
    external_id, id_source = _external_id(prospect)
    if external_id is None:
        if fallback_id is None:
            raise ParseError("ADF prospect has no <id>")
        external_id = fallback_id
    contacts = [c for customer in _children(prospect, "customer") for c in _children(customer, "contact")]
    first, last, full = _names(contacts)
    emails = tuple(e for c in contacts for e in _texts(c, "email", _strip_mailto))
    phones = tuple(p for c in contacts for p in _texts(c, "phone"))
    if not (first or last or full or emails or phones):
        raise ParseError(
            f"ADF prospect {external_id!r} has no usable content (no customer name, email or phone)"
        )
    return LeadRecord(
        external_id=external_id,
        source=_source(prospect, id_source, default_source),
        received_at=_parse_datetime(_first_text(prospect, "requestdate")),
        external_id_source=id_source,
        first_name=first,
        last_name=last,
        full_name=full,
        emails=emails,
        phones=phones,
        vehicle=_vehicle(prospect),
        associate=None,
        store=_path_text(prospect, "vendor", "vendorname"),
    )


def _external_id(prospect: Element) -> tuple[str | None, str | None]:
    # Only the prospect's own <id>: <vehicle>, <vendor> and <provider> carry ids of their own.
    for element in _children(prospect, "id"):
        value = _clean(_text(element))
        if value:
            return value, _clean(_attribute(element, "source")) or None
    return None, None


def _source(prospect: Element, id_source: str | None, default_source: str) -> str:
    return _path_text(prospect, "provider", "name") or id_source or default_source


def _names(contacts: list[Element]) -> tuple[str | None, str | None, str | None]:
    parts: dict[str, str] = {}
    for contact in contacts:
        for element in _children(contact, "name"):
            part = (_attribute(element, "part") or "full").lower()
            value = _clean(_text(element))
            if value and part not in parts:
                parts[part] = value
        if parts:
            break
    first, last, full = parts.get("first"), parts.get("last"), parts.get("full")
    if full and not (first or last):
        first, last = _split_full_name(full)
    return first, last, full


def _split_full_name(full: str) -> tuple[str | None, str | None]:
    """Best effort: "Smith, John" and "John A. Smith Jr." both give ("John", "Smith")."""
    if "," in full:
        last, _, rest = full.partition(",")
        given = rest.split()
        return (given[0] if given else None), _clean(last) or None
    words = full.split()
    while len(words) > 2 and words[-1].lower() in _NAME_SUFFIXES:
        words.pop()
    return words[0], (words[-1] if len(words) > 1 else None)


STOCK_MARK = "(stock "  # "2024 Honda CR-V EX-L (stock H4521)"


def _vehicle(prospect: Element) -> str | None:
    vehicles = _children(prospect, "vehicle")
    if not vehicles:
        return None
    buying = [v for v in vehicles if (_attribute(v, "interest") or "").strip().lower() == "buy"]
    chosen = (buying or vehicles)[0]
    words = [_first_text(chosen, part) for part in ("year", "make", "model", "trim")]
    stock = _first_text(chosen, "stock")
    if stock:  # a customer quoting it names the car beyond doubt: matching reads it back (vehicle_named)
        words.append(f"{STOCK_MARK}{stock})")
    return " ".join(w for w in words if w) or None


def _parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _strip_mailto(value: str) -> str:
    return _MAILTO.sub("", value).strip()


def _texts(parent: Element, name: str, tidy: Callable[[str], str] = str.strip) -> list[str]:
    """Every non-empty `name` child's text, in document order, trimmed."""
    values = (tidy(_text(element).strip()) for element in _children(parent, name))
    return [value for value in values if value]


def _first_text(parent: Element, name: str) -> str | None:
    for element in _children(parent, name):
        value = _clean(_text(element))
        if value:
            return value
    return None


def _path_text(parent: Element, child: str, grandchild: str) -> str | None:
    for element in _children(parent, child):
        value = _first_text(element, grandchild)
        if value:
            return value
    return None


def _children(parent: Element, name: str) -> list[Element]:
    # Element names vary in case in the wild (<Prospect>, <PHONE>); namespaces are ignored.
    return [child for child in parent if isinstance(child.tag, str) and _local(child.tag) == name]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _attribute(element: Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _text(element: Element) -> str:
    return "".join(element.itertext())


def _clean(value: str | None) -> str:
    """Whitespace collapsed: providers indent and wrap values freely."""
    return " ".join(value.split()) if value else ""
