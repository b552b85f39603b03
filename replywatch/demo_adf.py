"""What the demo dealership's people are and write: ADF/XML leads (quirks included), follow-ups, replies."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_ID_CHARS = {"#": "0123456789", "%": "0123456789abcdef", "@": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"}
MAIL_DOMAINS = ("mail.example.com", "example.net", "example.org", "inbox.example", "correo.example")


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def lines(text: str) -> tuple[str, ...]:
    """One entry per non-blank line of a text block; keeps phrase tables compact and readable."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


FIRST_NAMES = words("""
    James Mary Robert Patricia Michael Jennifer William Linda David Elizabeth Richard Barbara Joseph Susan
    Thomas Jessica Christopher Sarah Daniel Karen Matthew Ashley Anthony Emily Mark Amanda Steven Megan Kevin
    Rachel Brian Nicole Tyler Brittany Jamal Keisha DeShawn Aaliyah Minh Linh Wei Mei Raj Ananya Olga Dmitri
""")
LAST_NAMES = words("""
    Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson
    Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker Nelson
    Carter Mitchell Nguyen Tran Kim Patel Sharma O'Brien Kowalski Washington
""")
FIRST_NAMES_ES = words(
    "José María Jesús Sofía Andrés Lucía Ramón Inés Raúl Mónica Héctor Verónica Joaquín Begoña"
)
LAST_NAMES_ES = words(
    "Hernández García Martínez Rodríguez López González Pérez Sánchez Ramírez Gómez Díaz Muñoz Ibáñez"
)
COMMENTS = ("", "", *lines("""
    Is this vehicle still available?
    I'd like to schedule a test drive this weekend.
    What is your best out-the-door price? I have a trade & can put $3,000 down.
    Do you take trade-ins? 2015 Civic, 98k miles.
    Please text me, I can't take calls at work.
    Interested in financing options & lease specials.
    Can you send more pictures of the interior?
"""))  # fmt: skip
COMMENTS_ES = (
    "¿Sigue disponible? Me interesa para mi esposa.",
    "¿Tienen financiamiento? Prefiero hablar en español.",
)


@dataclass(frozen=True)
class Provider:
    name: str  # as in <id source="…"> and <provider><name>
    sender: str  # the address its lead mails come from; shown as "<name> Leads"
    id_pattern: str  # '#' a digit, '%' a hex digit, '@' an upper-case letter or digit
    subject: str  # format string with {vehicle} and {name}


PROVIDERS = (
    Provider("AutoTrader", "leads@autotrader.example", "AT#########", "New AutoTrader Lead - {vehicle}"),
    Provider("Cars.com", "leads@cars.example", "%%%%%%%%-%%%%-%%%%", "Cars.com Lead: {name} - {vehicle}"),
    Provider("CarGurus", "noreply@cargurus.example", "CG-@@@@@@@@", "CarGurus Lead: {vehicle}"),
    Provider("TrueCar", "dealerleads@truecar.example", "TC##########", "TrueCar Lead {vehicle}"),
    Provider("Dealer Website", "forms@dealerwebsites.example", "WEB-######", "Website inquiry: {vehicle}"),
)
OEM_PROVIDERS = {
    "Honda": Provider("Honda.com", "leads@honda-oem.example", "HDA########", "Honda.com lead {vehicle}"),
    "Toyota": Provider(
        "Toyota.com", "leads@toyota-oem.example", "TOY########", "Toyota.com Lead - {vehicle}"
    ),
}
_MODELS = {  # make: (model, trim, new price)
    "Honda": (
        ("Civic", "Sport", 26500),
        ("Accord", "EX", 31000),
        ("CR-V", "EX-L", 36000),
        ("HR-V", "LX", 26000),
        ("Pilot", "TrailSport", 47000),
        ("Odyssey", "Touring", 44000),
        ("Ridgeline", "RTL", 42000),
    ),
    "Toyota": (
        ("Camry", "SE", 29500),
        ("Corolla", "LE", 23000),
        ("RAV4", "XLE", 33000),
        ("Tacoma", "TRD Off-Road", 43000),
        ("Highlander", "XLE", 45000),
        ("4Runner", "SR5", 42000),
        ("Tundra", "SR5", 51000),
        ("Sienna", "LE", 40000),
    ),
    "Ford": (("F-150", "XLT", 45000), ("Escape", "SE", 28000)),
    "Chevrolet": (("Equinox", "LT", 27000), ("Silverado 1500", "LT", 46000)),
    "Nissan": (("Rogue", "SV", 29000),),
    "Hyundai": (("Tucson", "SEL", 28000),),
}


def providers_for(store: str) -> tuple[Provider, ...]:
    """Marketplaces, the dealer website, then the OEM site of the make the store ("… <Make>") sells."""
    return (*PROVIDERS, OEM_PROVIDERS[store.split()[-1]])


FOLLOW_UP_SUBJECTS = lines("""
    Your {vehicle} inquiry at {store}
    {vehicle} at {store}
    Following up on the {model}
    Thanks for your interest, {first}!
""")
FOLLOW_UP_PITCHES = lines("""
    It's on the lot and I'd be glad to set up a test drive. Does tomorrow afternoon work?
    I have a couple of options in that trim. When is a good time for a quick call?
    I put together pricing for you. Are you planning to finance, lease or pay cash?
    It's still available. Would you like to come see it this week?
""")
REPLIES = lines("""
    Yes, still interested. Can I come by Saturday morning?
    Tomorrow at 5 works for me.
    What would the out-the-door price be with tax and fees?
    Can you send me a few more photos?
    I'd like to trade in my 2016 Accord, what could you give me for it?
    I already bought something else, but thanks for following up.
""")
REPLIES_ES = (
    "Sí, todavía me interesa. ¿Puedo pasar el sábado?",
    "Gracias. ¿Cuál sería el precio final con impuestos?",
)
TEXTS = lines("""
    Yes! Can you text me the price?
    Sat morning works
    Who is this?
    Not interested anymore thanks
    Still available? I can come after work
    Can you do 399/month?
    👍 sounds good
""")
TEXTS_ES = ("Sí, me interesa. ¿A qué hora abren el sábado?", "Gracias, ¿me puede mandar fotos?")
AUTO_REPLIES = (
    (
        "Automatic reply: ",
        "I am out of the office with limited access to email and will reply when I return.",
    ),
    ("Out of Office: ", "I'm away until next Monday. For anything urgent please call my cell."),
    ("Respuesta automática: ", "Estoy fuera de la oficina. Responderé a su mensaje a mi regreso."),
)


@dataclass(frozen=True)
class Vehicle:
    status: str  # new | used
    year: int
    make: str
    model: str
    trim: str
    vin: str
    price: int

    @property
    def title(self) -> str:
        return f"{self.year} {self.make} {self.model} {self.trim}"


@dataclass(frozen=True)
class Quirks:
    """Deviations from clean ADF seen in real provider mail; each one is a parser test in disguise."""

    adf_pi_first: bool = False  # <?ADF VERSION "1.0"?> before the XML declaration
    utf16_declared: bool = False  # encoding="utf-16" declared on UTF-8 bytes
    full_name_only: bool = False  # <name part="full"> and no first/last parts
    mailto: bool = False  # <email>mailto:…</email>
    cdata: bool = False  # comments in a CDATA section
    attachment: str | None = None  # "application/xml" or "text/xml": ADF attached, not in the body


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    email: str | None
    phone: str | None  # E.164: the number the customer texts from
    spanish: bool


@dataclass(frozen=True)
class AdfLead:
    lead_id: str
    provider: Provider
    requested_at: datetime  # aware, store-local
    customer: Customer
    phones: tuple[tuple[str, str], ...]  # (number as the provider writes it, ADF phone type)
    vehicle: Vehicle
    store: str
    store_email: str
    comment: str
    quirks: Quirks


def lead_id(rng: random.Random, provider: Provider) -> str:
    return "".join(rng.choice(_ID_CHARS[c]) if c in _ID_CHARS else c for c in provider.id_pattern)


def human_phone(rng: random.Random, e164: str) -> str:
    """The ways people, providers and exports write one number; the pipeline normalizes them."""
    a, b, c = e164[2:5], e164[5:8], e164[8:]
    return rng.choice(
        (e164, f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"{a}-{b}-{c}", f"{a}{b}{c}", f"+1 {a}-{b}-{c}")
    )


def email_for(rng: random.Random, first: str, last: str) -> str:
    f, la = (
        unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode().lower() for n in (first, last)
    )
    la = la.replace("'", "")
    local = rng.choice(
        (f"{f}.{la}", f"{f[0]}{la}{rng.randint(1, 99)}", f"{f}{la}{rng.randint(70, 99)}", f"{la}.{f}")
    )
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def make_vehicle(rng: random.Random, make: str, model_year: int) -> Vehicle:
    """A new car of the store's make, or a used one, sometimes of another make (a trade-in on the lot)."""
    if rng.random() < 0.6:
        status, year = "new", model_year + rng.choice((0, 0, 1))
    else:
        status, year = "used", rng.randint(model_year - 8, model_year - 1)
        make = make if rng.random() < 0.6 else rng.choice(("Ford", "Chevrolet", "Nissan", "Hyundai"))
    model, trim, base = rng.choice(_MODELS[make])
    price = base if status == "new" else int(base * (0.92 - 0.07 * (model_year - year)))
    vin = "".join(rng.choice(_VIN_CHARS) for _ in range(17))
    return Vehicle(status, year, make, model, trim, vin, max(price, 6500) // 100 * 100 - 5)


def random_quirks(rng: random.Random, has_email: bool) -> Quirks:
    """Each quirk in a minority of leads, independently, as they turn up in a real lead inbox."""
    r = rng.random
    return Quirks(
        adf_pi_first=r() < 0.07,
        utf16_declared=r() < 0.05,
        full_name_only=r() < 0.1,
        mailto=has_email and r() < 0.07,
        cdata=r() < 0.25,
        attachment=rng.choice(("application/xml", "text/xml")) if r() < 0.12 else None,
    )


class LeadFactory:
    """Customers, numbers and lead ids never handed out before, so every reply belongs to one lead."""

    def __init__(self, rng: random.Random, reserved: set[str]) -> None:
        self.rng = rng
        self.used = set(reserved)

    def fresh(self, make: Callable[[], str]) -> str:
        for _ in range(500):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        raise RuntimeError("the sample dealership ran out of fresh names")

    def phone(self, area_codes: tuple[str, ...]) -> str:
        return self.fresh(lambda: f"+1{self.rng.choice(area_codes)}555{self.rng.randint(100, 9999):04d}")

    def customer(self, area_codes: tuple[str, ...]) -> Customer:
        rng = self.rng
        spanish = rng.random() < 0.22
        firsts, lasts = (FIRST_NAMES_ES, LAST_NAMES_ES) if spanish else (FIRST_NAMES, LAST_NAMES)
        first, last = self.fresh(lambda: f"{rng.choice(firsts)}|{rng.choice(lasts)}").split("|")
        reach = rng.random()  # some leads come without an email, a few without a phone
        email = None if reach < 0.08 else self.fresh(lambda: email_for(rng, first, last))
        return Customer(first, last, email, None if reach > 0.9 else self.phone(area_codes), spanish)

    def lead(
        self, provider: Provider, at: datetime, store: str, store_email: str, area_codes: tuple[str, ...]
    ) -> AdfLead:
        """A lead for `store` (named "… <Make>") requested at `at`, store-local."""
        rng, customer = self.rng, self.customer(area_codes)
        phones: list[tuple[str, str]] = []
        if customer.phone:
            phones.append((human_phone(rng, customer.phone), "voice"))
            if rng.random() < 0.12:  # a home line too; the customer texts from the cell phone
                phones = [(phones[0][0], "cellphone"), (human_phone(rng, self.phone(area_codes)), "voice")]
                rng.shuffle(phones)
        comment = rng.choice(COMMENTS_ES if customer.spanish and rng.random() < 0.4 else COMMENTS)
        vehicle = make_vehicle(rng, store.split()[-1], at.year)
        quirks = random_quirks(rng, customer.email is not None)
        lid = self.fresh(lambda: lead_id(rng, provider))
        return AdfLead(
            lid, provider, at, customer, tuple(phones), vehicle, store, store_email, comment, quirks
        )


def adf_document(lead: AdfLead) -> str:
    """One ADF document as text; the quirks decide its head, names, email and comment form."""
    q, v = lead.quirks, lead.vehicle
    declaration = f'<?xml version="1.0" encoding="{"utf-16" if q.utf16_declared else "UTF-8"}"?>'
    head = (
        f'<?ADF VERSION "1.0"?>\n{declaration}' if q.adf_pi_first else f'{declaration}\n<?adf version="1.0"?>'
    )
    return f"""{head}
<adf>
 <prospect status="new">
  <id sequence="1" source={quoteattr(lead.provider.name)}>{escape(lead.lead_id)}</id>
  <requestdate>{lead.requested_at.isoformat(timespec="seconds")}</requestdate>
  <vehicle interest="buy" status="{v.status}">
   <year>{v.year}</year>
   <make>{escape(v.make)}</make>
   <model>{escape(v.model)}</model>
   <trim>{escape(v.trim)}</trim>
   <vin>{v.vin}</vin>
   <price type="asking" currency="USD">{v.price}</price>
  </vehicle>
  <customer>
   <contact primarycontact="1">
{_contact(lead)}
   </contact>{_comment(lead)}
  </customer>
  <vendor>
   <vendorname>{escape(lead.store)}</vendorname>
   <contact><name part="full">Internet Sales</name><email>{escape(lead.store_email)}</email></contact>
  </vendor>
  <provider>
   <name part="full">{escape(lead.provider.name)}</name>
   <service>{escape(lead.provider.name)} Leads</service>
  </provider>
 </prospect>
</adf>
"""


def _contact(lead: AdfLead) -> str:
    c = lead.customer
    if lead.quirks.full_name_only:
        parts = [f'<name part="full">{escape(f"{c.first} {c.last}")}</name>']
    else:
        parts = [f'<name part="first">{escape(c.first)}</name>', f'<name part="last">{escape(c.last)}</name>']
    if c.email:
        parts.append(f"<email>{'mailto:' if lead.quirks.mailto else ''}{escape(c.email)}</email>")
    for number, kind in lead.phones:
        when = ' time="evening"' if kind == "voice" and len(lead.phones) > 1 else ""
        parts.append(f'<phone type="{kind}"{when}>{escape(number)}</phone>')
    return "\n".join(f"    {part}" for part in parts)


def _comment(lead: AdfLead) -> str:
    if not lead.comment:
        return ""
    text = f"<![CDATA[{lead.comment}]]>" if lead.quirks.cdata else escape(lead.comment)
    return f"\n   <comments>{text}</comments>"
