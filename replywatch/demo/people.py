"""Who the demo dealership is: its stores and associates, customers' names, providers and vehicles."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

from replywatch.config import DAYS, parse_hours

_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
MAIL_DOMAINS = ("mail.example.com", "example.net", "example.org", "inbox.example", "correo.example")


@dataclass(frozen=True)
class Store:
    name: str  # ends with the make it sells
    timezone: str
    area_codes: tuple[str, ...]
    weekdays: str  # opening hours Monday to Friday, as in the config
    saturday: str  # and Saturday; Sunday closed
    recipients: tuple[str, ...]  # local parts at the store's domain

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def domain(self) -> str:
        return self.name.lower().replace(" ", "") + ".example"

    @property
    def main_line(self) -> str:
        """The store's published number: calls to it ring the associates (forwarded)."""
        return f"+1{self.area_codes[0]}5550100"

    @property
    def hours(self) -> tuple[str, ...]:
        return (self.weekdays,) * 5 + (self.saturday, "closed")

    def span(self, day: date) -> tuple[int, int] | None:
        """Opening and closing minute of the day, None when closed."""
        hours = parse_hours(DAYS[day.weekday()], self.hours[day.weekday()])
        return None if hours is None else (_minutes(hours[0]), _minutes(hours[1]))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Associate:
    name: str
    store: Store
    local_part: str
    phone: str  # E.164

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.store.domain}"


STORES = (
    Store(
        "Main Street Honda", "America/Chicago", ("512", "737"), "09:00-20:00", "09:00-18:00", ("gm", "bdc")
    ),
    Store("Lakeside Toyota", "America/Denver", ("303", "720"), "08:30-19:00", "09:00-17:00", ("gm",)),
)
ASSOCIATES = (
    Associate("Dana Lee", STORES[0], "dana", "+15125550101"),
    Associate("Marcus Johnson", STORES[0], "marcus.johnson", "+15125550102"),
    Associate("Priya Patel", STORES[0], "priya", "+15125550103"),
    Associate("Carlos Mendoza", STORES[1], "carlos", "+13035550111"),
    Associate("Emily Chen", STORES[1], "emily.chen", "+13035550112"),
)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


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


@dataclass(frozen=True)
class Customer:
    first: str
    last: str
    email: str | None
    phone: str | None  # E.164: the number the customer texts from
    spanish: bool


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


def providers_for(store: str) -> tuple[Provider, ...]:
    """Marketplaces, the dealer website, then the OEM site of the make the store ("… <Make>") sells."""
    return (*PROVIDERS, OEM_PROVIDERS[store.split()[-1]])


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
