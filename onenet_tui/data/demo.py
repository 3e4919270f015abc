"""The demo tenant: a realistic company with sites in Germany and the UK,
number pools, users in every status, all four kinds of group and desk phone
credentials, built in one transaction with bulk inserts.

Deterministic: the same ``seed`` (and the same ``now``) gives the same tenant.
Every random choice comes from one ``random.Random(seed)``; timestamps are
offsets from ``now`` so that pending users become due for the simulated
carrier shortly after the build. The one exception is the desk phone
passwords: they are random from the operating system, digested and thrown
away, so nobody can derive them from a known seed.

Capacity: an extension is the last four digits of the number and unique per
site (R2), so a site holds at most 10,000 numbers with distinct extensions.
Each site is given at most :data:`USERS_PER_SITE` users, which keeps a fifth of
its pool free; a bigger tenant gets more sites (three at least), a million
users (:data:`MAX_USERS`) 125 of them. One site's rows are planned and written
at a time, so memory does not grow with the tenant.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from onenet_tui.data import audit, bulk_insert, secrets, validation
from onenet_tui.data.catalogs import SUPERVISOR_SERVICE
from onenet_tui.data.context import Context
from onenet_tui.data.errors import Conflict, InvalidInput
from onenet_tui.data.models import (
    CallCenterRole,
    CredentialMode,
    DeskPhoneCredential,
    DeviceType,
    Group,
    GroupKind,
    GroupMember,
    OperatorSite,
    PhoneNumber,
    Site,
    Status,
    Tenant,
    User,
    table_of,
    utcnow,
)
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.storage import Store, busy_as_conflict

TENANT_NAME = "Nordlicht Logistik GmbH"
EMAIL_DOMAIN = "nordlicht-logistik.example"
USERS_PER_SITE = 8_000
POOL_MAX = 10_000
DEFAULT_USERS = 250
DEFAULT_SEED = 1
DEFAULT_CARRIER_DELAY = 30
# SQLite page cache while building, in KiB (see _roomy_cache).
BUILD_CACHE_KIB = 256 * 1024


@dataclass(frozen=True)
class SitePlan:
    name: str
    country: str
    sip_domain: str
    # E.164 prefix; the last four digits of every number (the extension) follow it.
    prefix: str


# The first three are always built; the others join as the tenant grows.
# Every prefix + 0000..9999 is a valid fixed-line number (tests check it).
SITES: tuple[SitePlan, ...] = (
    SitePlan("Berlin", "DE", "berlin.voip.nordlicht-logistik.example", "+49301234"),
    SitePlan("München", "DE", "muenchen.voip.nordlicht-logistik.example", "+49891234"),
    SitePlan("London", "GB", "london.voip.nordlicht-logistik.example", "+44207946"),
    SitePlan("Hamburg", "DE", "hamburg.voip.nordlicht-logistik.example", "+49401234"),
    SitePlan("Köln", "DE", "koeln.voip.nordlicht-logistik.example", "+492211234"),
    SitePlan("Manchester", "GB", "manchester.voip.nordlicht-logistik.example", "+44161496"),
    SitePlan("Frankfurt am Main", "DE", "frankfurt.voip.nordlicht-logistik.example", "+49691234"),
    SitePlan("Birmingham", "GB", "birmingham.voip.nordlicht-logistik.example", "+44121496"),
    SitePlan("Stuttgart", "DE", "stuttgart.voip.nordlicht-logistik.example", "+497111234"),
    SitePlan("Düsseldorf", "DE", "duesseldorf.voip.nordlicht-logistik.example", "+492111234"),
    SitePlan("Leeds", "GB", "leeds.voip.nordlicht-logistik.example", "+44113496"),
    SitePlan("Leipzig", "DE", "leipzig.voip.nordlicht-logistik.example", "+493411234"),
    SitePlan("Glasgow", "GB", "glasgow.voip.nordlicht-logistik.example", "+44141496"),
    SitePlan("Dresden", "DE", "dresden.voip.nordlicht-logistik.example", "+493511234"),
    SitePlan("Bristol", "GB", "bristol.voip.nordlicht-logistik.example", "+44117496"),
    SitePlan("Nürnberg", "DE", "nuernberg.voip.nordlicht-logistik.example", "+499111234"),
    SitePlan("Hannover", "DE", "hannover.voip.nordlicht-logistik.example", "+495111234"),
    SitePlan("Edinburgh", "GB", "edinburgh.voip.nordlicht-logistik.example", "+44131496"),
    SitePlan("Bremen", "DE", "bremen.voip.nordlicht-logistik.example", "+494211234"),
    SitePlan("Liverpool", "GB", "liverpool.voip.nordlicht-logistik.example", "+44151496"),
)

# A large tenant's further branches, in the order they join (about two German
# to one British): (city, country, E.164 prefix). Each prefix is the city's
# area code and a block of its own; + 0000..9999 is a valid fixed-line number
# of the country (tests check every one).
# fmt: off
_MORE_SITES: tuple[tuple[str, str, str], ...] = (
    ("Essen", "DE", "+492011234"), ("Dortmund", "DE", "+492311234"), ("Sheffield", "GB", "+44114496"),
    ("Duisburg", "DE", "+492031234"), ("Bochum", "DE", "+492341234"), ("Nottingham", "GB", "+44115960"),
    ("Wuppertal", "DE", "+492021234"), ("Bielefeld", "DE", "+495211234"), ("Leicester", "GB", "+44116496"),
    ("Bonn", "DE", "+492281234"), ("Münster", "DE", "+492511234"), ("Newcastle upon Tyne", "GB", "+44191496"),
    ("Karlsruhe", "DE", "+497211234"), ("Mannheim", "DE", "+496211234"), ("Cardiff", "GB", "+44292049"),
    ("Augsburg", "DE", "+498211234"), ("Wiesbaden", "DE", "+496111234"), ("Belfast", "GB", "+44289049"),
    ("Mönchengladbach", "DE", "+492161123"), ("Braunschweig", "DE", "+495311234"), ("Southampton", "GB", "+44238049"),
    ("Kiel", "DE", "+494311234"), ("Aachen", "DE", "+492411234"), ("Portsmouth", "GB", "+44239249"),
    ("Chemnitz", "DE", "+493711234"), ("Halle (Saale)", "DE", "+493451234"), ("Coventry", "GB", "+44247649"),
    ("Magdeburg", "DE", "+493911234"), ("Freiburg im Breisgau", "DE", "+497611234"), ("Reading", "GB", "+44118496"),
    ("Krefeld", "DE", "+492151123"), ("Mainz", "DE", "+496131123"), ("Aberdeen", "GB", "+44122449"),
    ("Lübeck", "DE", "+494511234"), ("Erfurt", "DE", "+493611234"), ("Dundee", "GB", "+44138249"),
    ("Oberhausen", "DE", "+492081234"), ("Rostock", "DE", "+493811234"), ("Oxford", "GB", "+44186549"),
    ("Kassel", "DE", "+495611234"), ("Hagen", "DE", "+492331123"), ("Cambridge", "GB", "+44122349"),
    ("Potsdam", "DE", "+493311234"), ("Saarbrücken", "DE", "+496811234"), ("York", "GB", "+44190449"),
    ("Hamm", "DE", "+492381123"), ("Oldenburg", "DE", "+494411234"), ("Hull", "GB", "+44148249"),
    ("Osnabrück", "DE", "+495411234"), ("Leverkusen", "DE", "+492141234"), ("Plymouth", "GB", "+44175249"),
    ("Heidelberg", "DE", "+496221123"), ("Darmstadt", "DE", "+496151123"), ("Brighton", "GB", "+44127349"),
    ("Solingen", "DE", "+492121234"), ("Regensburg", "DE", "+499411234"), ("Derby", "GB", "+44133249"),
    ("Paderborn", "DE", "+495251123"), ("Ingolstadt", "DE", "+498411234"), ("Stoke-on-Trent", "GB", "+44178249"),
    ("Würzburg", "DE", "+499311234"), ("Ulm", "DE", "+497311234"), ("Wolverhampton", "GB", "+44190249"),
    ("Heilbronn", "DE", "+497131123"), ("Wolfsburg", "DE", "+495361123"), ("Swansea", "GB", "+44179249"),
    ("Göttingen", "DE", "+495511234"), ("Pforzheim", "DE", "+497231123"), ("Norwich", "GB", "+44160349"),
    ("Bremerhaven", "DE", "+494711234"), ("Reutlingen", "DE", "+497121123"), ("Milton Keynes", "GB", "+44190849"),
    ("Jena", "DE", "+493641123"), ("Trier", "DE", "+496511234"), ("Bradford", "GB", "+44127449"),
    ("Erlangen", "DE", "+499131123"), ("Koblenz", "DE", "+492611234"), ("Exeter", "GB", "+44139249"),
    ("Siegen", "DE", "+492711234"), ("Cottbus", "DE", "+493551234"), ("Bath", "GB", "+44122549"),
    ("Hildesheim", "DE", "+495121123"), ("Gera", "DE", "+493651234"), ("Inverness", "GB", "+44146349"),
    ("Schwerin", "DE", "+493851234"), ("Zwickau", "DE", "+493751234"), ("Preston", "GB", "+44177249"),
    ("Flensburg", "DE", "+494611234"), ("Konstanz", "DE", "+497531123"), ("Bolton", "GB", "+44120449"),
    ("Passau", "DE", "+498511234"), ("Bamberg", "DE", "+499511234"), ("Middlesbrough", "GB", "+44164249"),
    ("Bayreuth", "DE", "+499211234"), ("Rosenheim", "DE", "+498031123"), ("Luton", "GB", "+44158249"),
    ("Landshut", "DE", "+498711234"), ("Lüneburg", "DE", "+494131123"), ("Northampton", "GB", "+44160449"),
    ("Fulda", "DE", "+496611234"), ("Gießen", "DE", "+496411234"), ("Ipswich", "GB", "+44147349"),
    ("Weimar", "DE", "+493643123"), ("Görlitz", "DE", "+493581123"), ("Peterborough", "GB", "+44173349"),
    ("Kempten (Allgäu)", "DE", "+498311234"), ("Offenburg", "DE", "+497811234"), ("Gloucester", "GB", "+44145249"),
    ("Chester", "GB", "+44124449"), ("Lancaster", "GB", "+44152449"), ("Carlisle", "GB", "+44122849"),
    ("Lincoln", "GB", "+44152249"), ("Worcester", "GB", "+44190549"), ("Londonderry", "GB", "+44287149"),
    ("Newport", "GB", "+44163349"), ("Stirling", "GB", "+44178649"), ("Perth", "GB", "+44173849"),
)
# fmt: on
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def _domain(city: str) -> str:
    """``Halle (Saale)`` -> ``halle-saale.voip.nordlicht-logistik.example``."""
    words = "".join(ch if ch.isalnum() else " " for ch in city.translate(_ASCII).lower()).split()
    return f"{'-'.join(words)}.voip.{EMAIL_DOMAIN}"


SITES = SITES + tuple(SitePlan(city, country, _domain(city), prefix) for city, country, prefix in _MORE_SITES)
# A million users fill 125 of the sites; the rest is headroom, not a promise.
MAX_USERS = 1_000_000
assert MAX_USERS <= len(SITES) * USERS_PER_SITE
# One Net mobile numbers: prefix + random digits, valid mobiles of the country.
MOBILE_PREFIX = {"DE": ("+49151", 8), "GB": ("+447400", 6)}

FLAG_REASONS = (
    "porting not finished",
    "porting date not confirmed by the previous carrier",
    "emergency address missing",
    "number blocked by the previous carrier",
)

# fmt: off
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "german": (
        ("Jürgen", "Günther", "Björn", "Jörg", "Sören", "Käthe", "Anna", "Lena", "Lukas", "Maximilian",
         "Sophie", "Marie", "Felix", "Jonas", "Leonie", "Hannah", "Tobias", "Katharina", "Stefan", "Sabine",
         "Ute", "Heiko", "Dörte", "Mareike", "Moritz", "Friederike", "Hans-Peter", "Anne-Kathrin"),
        ("Müller", "Schäfer", "Weiß", "Groß", "Köhler", "Schröder", "Krüger", "Hoffmann", "Schmidt",
         "Schneider", "Fischer", "Wagner", "Becker", "Meyer", "Wolf", "Neumann", "Schwarz", "Zimmermann",
         "Braun", "Schulz", "Lehmann", "Böhm", "Jäger", "Löffler", "Brüggemann", "Dreßler", "von Bülow",
         "Meyer-Lüdenscheidt"),
    ),
    "british": (
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Olivia", "Jack", "Emily", "Charlotte", "Thomas",
         "Siobhán", "Niamh", "Rhys", "Eilidh", "Callum", "Aoife", "William", "Grace", "James", "Ffion"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
         "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hughes", "O'Brien", "McDonald",
         "O'Connor", "Fitzgerald"),
    ),
    "turkish": (
        ("Ayşe", "Mehmet", "Emre", "Zeynep", "Elif", "Gökhan", "Özlem", "Çağla", "Burak", "Ömer", "Şeyma",
         "İlker", "Hülya", "Ümit", "Selin"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Özdemir", "Arslan",
         "Doğan", "Kılıç", "Çetin", "Koç", "Şimşek"),
    ),
    "french": (
        ("François", "Hélène", "Amélie", "Zoé", "Léa", "Chloé", "Théo", "Noël", "Gaël", "Loïc", "Céline",
         "Jérôme", "Benoît", "Anaïs", "Margaux"),
        ("Lefèvre", "Côté", "Dubois", "Moreau", "Laurent", "Girard", "Bonnet", "Dupré", "Mercier", "Rousseau",
         "Fournier", "Gauthier", "Chevalier", "Bérenger", "Faure"),
    ),
    "polish": (
        ("Łukasz", "Wojciech", "Małgorzata", "Zofia", "Agnieszka", "Paweł", "Michał", "Katarzyna",
         "Krzysztof", "Grzegorz", "Jolanta", "Ewa", "Tomasz", "Bartłomiej", "Dorota"),
        ("Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński",
         "Szymańska", "Woźniak", "Dąbrowska", "Kozłowski", "Jankowski", "Mazur", "Pawłowski"),
    ),
}
# fmt: on
# Who works where: (culture, weight) per country.
CULTURES = {
    "DE": (("german", 60), ("turkish", 18), ("polish", 12), ("french", 6), ("british", 4)),
    "GB": (("british", 70), ("polish", 12), ("french", 8), ("turkish", 5), ("german", 5)),
}
DEPARTMENTS = {
    "DE": ("Vertrieb", "Kundenservice", "Buchhaltung", "IT", "Personal", "Logistik", "Einkauf", "Geschäftsführung"),
    "GB": ("Sales", "Customer Service", "Finance", "IT", "HR", "Logistics", "Purchasing", "Management"),
}
JOB_TITLES = {
    "DE": ("Sachbearbeiter/in", "Teamleiter/in", "Disponent/in", "Assistenz", "Key Account Manager/in", None),
    "GB": ("Clerk", "Team Leader", "Dispatcher", "Assistant", "Key Account Manager", None),
}
DESK_PHONES = (
    ("yealink-t54w", 35),
    ("yealink-t46u", 30),
    ("cisco-8851", 15),
    ("polycom-vvx450", 12),
    ("gigaset-maxwell3", 8),
)
_PHONE_MODELS = tuple(code for code, _ in DESK_PHONES)
_PHONE_WEIGHTS = tuple(itertools.accumulate(weight for _, weight in DESK_PHONES))
_DESK_LICENCES = ("standard", "premium", "common_area")
_DESK_LICENCE_WEIGHTS = (80, 95, 100)
# Plain strings: the enums' .value costs time a hundred thousand times over.
_PENDING, _FAILED = Status.PENDING.value, Status.FAILED.value
_DESK_PHONE, _NO_DEVICE = DeviceType.DESK_PHONE.value, DeviceType.NONE.value


def _pick(rng: random.Random, items: Sequence[Any]) -> Any:
    """``rng.choice(items)`` from one ``random()`` call: the demo makes
    millions of choices, and ``choice`` costs several times more."""
    return items[int(rng.random() * len(items))]


def _weighted(rng: random.Random, items: Sequence[str], cumulative: Sequence[int]) -> str:
    """``rng.choices(items, cum_weights=cumulative)[0]``, several times faster."""
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


_CULTURE_CHOICES = {
    country: (tuple(c for c, _ in table), tuple(itertools.accumulate(w for _, w in table)))
    for country, table in CULTURES.items()
}


def _group_names(site: SitePlan, floors: int, hotline: bool, second_park: bool) -> list[tuple[str, GroupKind]]:
    """The site's groups: German names at German sites, English at British ones."""
    n = site.name
    if site.country == "DE":
        groups = [
            (f"Zentrale {n}", GroupKind.HUNT_GROUP),
            (f"Vertrieb {n}", GroupKind.HUNT_GROUP),
            (f"Kundenservice {n}", GroupKind.CALL_CENTER),
        ]
        if hotline:
            groups.append((f"Technik-Hotline {n}", GroupKind.CALL_CENTER))
        groups += [(f"Anrufannahme {n} Etage {k}", GroupKind.PICKUP) for k in range(1, floors + 1)]
        groups.append((f"Parken {n}", GroupKind.CALL_PARK))
        if second_park:
            groups.append((f"Parken {n} Lager", GroupKind.CALL_PARK))
        return groups
    groups = [
        (f"{n} Reception", GroupKind.HUNT_GROUP),
        (f"{n} Sales", GroupKind.HUNT_GROUP),
        (f"{n} Service Desk", GroupKind.CALL_CENTER),
    ]
    if hotline:
        groups.append((f"{n} Technical Hotline", GroupKind.CALL_CENTER))
    groups += [(f"{n} Pickup Floor {k}", GroupKind.PICKUP) for k in range(1, floors + 1)]
    groups.append((f"{n} Call Park", GroupKind.CALL_PARK))
    if second_park:
        groups.append((f"{n} Warehouse Park", GroupKind.CALL_PARK))
    return groups


@dataclass
class SiteSummary:
    name: str
    country: str
    users: int
    numbers: int
    free: int
    flagged: int
    groups: int


@dataclass
class DemoSummary:
    tenant: str
    seed: int
    carrier_delay: int
    replaced: bool
    sites: list[SiteSummary] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    groups: int = 0
    memberships: int = 0
    desk_phones: int = 0
    locked_accounts: int = 0

    @property
    def users(self) -> int:
        return sum(self.statuses.values())

    def counts(self) -> dict[str, object]:
        return {
            "users": self.users,
            "statuses": dict(self.statuses),
            "sites": len(self.sites),
            "numbers": sum(s.numbers for s in self.sites),
            "groups": self.groups,
            "memberships": self.memberships,
            "desk_phones": self.desk_phones,
            "locked_accounts": self.locked_accounts,
            "seed": self.seed,
            "carrier_delay": self.carrier_delay,
            "replaced": self.replaced,
        }


def site_shares(users: int) -> list[int]:
    """Users per site: the head office a little bigger, no site over capacity."""
    if not 0 <= users <= MAX_USERS:
        raise InvalidInput.single("users", "demo.users_range", max=MAX_USERS)
    count = max(3, math.ceil(users / USERS_PER_SITE))
    weights = [1.6, 1.2] + [1.0] * (count - 2)
    shares = [int(users * w / sum(weights)) for w in weights]
    shares[0] += users - sum(shares)
    # Spill anything over capacity to the sites with room, in order.
    for i, share in enumerate(shares):
        excess = share - USERS_PER_SITE
        if excess > 0:
            shares[i] = USERS_PER_SITE
            for j in range(len(shares)):
                room = USERS_PER_SITE - shares[j]
                moved = min(room, excess)
                shares[j] += moved
                excess -= moved
    return shares


class _Builder:
    """Holds the random source and the rows while one tenant is planned."""

    def __init__(self, seed: int, now: datetime, carrier_delay: int, operator: str):
        self.rng = random.Random(seed)
        self.now = now
        self.carrier_delay = carrier_delay
        self.operator = operator
        self.usernames: Counter[str] = Counter()
        self._proposals: dict[tuple[str, str], str] = {}
        # How the backend takes a timestamp (see bulk_insert.copy_rows); set per build.
        self.timestamp: Callable[[datetime], object] = bulk_insert.sqlite_timestamp
        self._services: dict[tuple[str, ...], str] = {}

    def services_json(self, services: list[str]) -> str:
        """The stored JSON text of a service list, as SQLAlchemy writes it
        (``json.dumps``); a tenant has few combinations, each encoded once."""
        key = tuple(services)
        text = self._services.get(key)
        if text is None:
            text = self._services[key] = json.dumps(services)
        return text

    # --- people -----------------------------------------------------------
    def person(self, country: str) -> tuple[str, str]:
        cultures, cumulative = _CULTURE_CHOICES[country]
        firsts, lasts = NAMES[_weighted(self.rng, cultures, cumulative)]
        return _pick(self.rng, firsts), _pick(self.rng, lasts)

    def username(self, first: str, last: str) -> str:
        """R19, like ``queries.unique_username``: first.last, then first.last2 ..."""
        key = (first, last)
        base = self._proposals.get(key)
        if base is None:
            base = self._proposals[key] = validation.proposed_username(first, last)
        self.usernames[base] += 1
        n = self.usernames[base]
        if n == 1:
            return base
        suffix = str(n)
        return base[: validation.USERNAME_MAX - len(suffix)] + suffix

    def mobile(self, country: str) -> str:
        prefix, digits = MOBILE_PREFIX[country]
        return f"{prefix}{int(self.rng.random() * 10**digits):0{digits}d}"

    def contract(self) -> str:
        return str(10**9 + int(self.rng.random() * 9 * 10**9))

    # --- time ---------------------------------------------------------------
    def timestamps(self, status: str) -> tuple[datetime, datetime]:
        """created_at and status_changed_at for a user in ``status``."""
        random = self.rng.random
        if status == _PENDING:
            # Added moments ago: the simulated carrier picks them up one by one.
            added = self.now - timedelta(seconds=random() * self.carrier_delay * 0.9)
            return added, added
        # Failed: added 1-20 days ago; activated: 30-900 days ago; the
        # carrier answered 1-72 hours after the add.
        days = 1 + random() * 19 if status == _FAILED else 30 + random() * 870
        added = self.now - timedelta(days=days)
        return added, added + timedelta(hours=1 + random() * 71)


def _statuses(rng: random.Random, users: int) -> list[str]:
    """About 70 % activated, 20 % pending, 10 % failed, shuffled."""
    failed = round(users * 0.10)
    pending = round(users * 0.20)
    statuses = [Status.FAILED.value] * failed + [Status.PENDING.value] * pending
    statuses += [Status.ACTIVATED.value] * (users - len(statuses))
    rng.shuffle(statuses)
    return statuses


def tenant_exists(session: Session) -> bool:
    for entity in (Tenant, Site, User):
        if session.execute(select(func.count()).select_from(entity)).scalar_one():
            return True
    return False


# Children before their parents.
_TENANT_TABLES = (GroupMember, DeskPhoneCredential, User, Group, PhoneNumber, OperatorSite, Site, Tenant)


def clear_tenant(session: Session) -> None:
    """Delete the tenant's data; operators and the (append-only) audit trail
    stay, site administrators without their sites (R25), which go.

    On PostgreSQL a DELETE of a million users takes a minute (every row's
    foreign keys are checked one by one), a TRUNCATE of the same tables a
    moment; it is tried first, in a savepoint. It fails, and the rows are
    deleted instead, when another table refers to one of these (TRUNCATE
    never leaves a dangling reference) or a reader holds them (the lock is
    not granted within the lock timeout). TRUNCATE holds the tables until
    the build commits: a console reading them meanwhile waits for it.
    On SQLite :func:`_build_session` has the same effect for a DELETE."""
    if session.connection().dialect.name == "postgresql":
        names = ", ".join(table_of(entity).name for entity in _TENANT_TABLES)
        try:
            with session.begin_nested():
                session.execute(text(f"TRUNCATE {names}"))
            return
        except DBAPIError:
            pass
    for entity in _TENANT_TABLES:
        session.execute(delete(entity))


def build(
    ctx: Context,
    *,
    users: int = DEFAULT_USERS,
    seed: int = DEFAULT_SEED,
    force: bool = False,
    carrier_delay: int = DEFAULT_CARRIER_DELAY,
    now: datetime | None = None,
) -> DemoSummary:
    """Create the demo tenant in one transaction. Refuses (Conflict) a database
    that already holds a tenant or users unless ``force``, which replaces it."""
    enforce(Action.ADD_USER, ctx.actor.role)
    # A new tenant's sites: the enterprise administrator's (R25).
    enforce(Action.MANAGE_SITES, ctx.actor.role)
    if carrier_delay < 0:
        raise InvalidInput.single("carrier_delay", "demo.delay_negative")
    shares = site_shares(users)
    builder = _Builder(seed, now or utcnow(), carrier_delay, ctx.actor.name)
    with _build_session(ctx.store) as session, _roomy_cache(session):
        builder.timestamp = bulk_insert.timestamp_converter(session)
        replaced = tenant_exists(session)
        if replaced and not force:
            raise Conflict("demo.exists")
        if replaced:
            clear_tenant(session)
            _no_dangling(session)
        summary = DemoSummary(TENANT_NAME, seed, carrier_delay, replaced)
        # Built "now": every seeded pending user was added before (tenant.simulated_since).
        session.add(
            Tenant(name=TENANT_NAME, simulated=True, carrier_delay_seconds=carrier_delay, created_at=builder.now)
        )
        statuses = _statuses(builder.rng, users)
        start = 0
        for plan, share in zip(SITES, shares, strict=False):
            site_summary = _build_site(session, builder, plan, statuses[start : start + share], summary)
            summary.sites.append(site_summary)
            start += share
        summary.statuses = {s.value: statuses.count(s.value) for s in Status}
        counts: dict[str, Any] = dict(summary.counts())
        audit.record(session, ctx.actor, "tenant.demo", TENANT_NAME, **counts)
    return summary


@contextmanager
def _build_session(store: Store) -> Iterator[Session]:
    """The build's one write transaction. On SQLite with foreign keys checked
    once, at the end, for the whole database (``PRAGMA foreign_key_check``, a
    second or two at a million users; any dangling reference rolls it all
    back) instead of row by row: that lets SQLite empty a table at once
    rather than row by row (40 s for a million users), and spares the
    inserts a lookup per reference. The pragma can only change outside a
    transaction, so the build has a connection of its own, set back when
    it goes back to the pool."""
    if store.dialect != "sqlite":
        with store.transaction() as session:
            yield session
        return
    with busy_as_conflict(), store.engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")
        try:
            writer = connection.execution_options(write=True)  # BEGIN IMMEDIATE, as every write
            with Session(writer, expire_on_commit=False) as session, session.begin():
                yield session
                _no_dangling(session)
        finally:
            driver.execute("PRAGMA foreign_keys=ON")


def _no_dangling(session: Session) -> None:
    """SQLite: refuse (and so roll back) when any row refers to one that is
    not there. Checked after the old tenant is gone too, before new rows could
    take the ids the old ones had (SQLite reuses them)."""
    if session.connection().dialect.name != "sqlite":
        return  # PostgreSQL checks every row as it is written
    dangling = session.execute(text("PRAGMA foreign_key_check")).first()
    if dangling is not None:
        raise Conflict("demo.dangling", table=str(dangling[0]))


@contextmanager
def _roomy_cache(session: Session) -> Iterator[None]:
    """SQLite only: a page cache big enough for the whole tenant while it is
    built. Rows arrive in random index order; with SQLite's default 2 MB
    cache most index pages would be evicted and read again, which doubles
    the time for 100,000 users. The cache size is a limit, not an
    allocation, and goes back to what it was afterwards."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size={-BUILD_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(previous or -2000)}")


# The rows' columns, in the order the planning functions make their tuples.
_NUMBER_COLUMNS = ("e164", "site_id", "flagged", "flag_reason")
_GROUP_COLUMNS = ("name", "site_id", "kind")
_MEMBER_COLUMNS = ("group_id", "user_id", "role")
_USER_COLUMNS = (
    "first_name",
    "last_name",
    "username",
    "site_id",
    "number_id",
    "extension",
    "device_type",
    "desk_phone_model",
    "licence",
    "services",
    "mobile",
    "contract",
    "email",
    "department",
    "job_title",
    "preferred_language",
    "forward_always",
    "forward_busy",
    "forward_no_answer",
    "do_not_disturb",
    "call_waiting",
    "status",
    "status_reason",
    "created_at",
    "status_changed_at",
    "portal_locked",
    "failed_logins",
    "last_account_reset_at",
    "activation_code_digest",
    "version",
)
_USERNAME = _USER_COLUMNS.index("username")
_DEVICE = _USER_COLUMNS.index("device_type")
_CREATED = _USER_COLUMNS.index("created_at")
_LOCKED = _USER_COLUMNS.index("portal_locked")
_CREDENTIAL_COLUMNS = (
    "user_id",
    "sip_username",
    "realm",
    "ha1_md5",
    "ha1_sha256",
    "generated_at",
    "generated_by",
    "mode",
    "handed_over",
)
_SYSTEM = CredentialMode.SYSTEM.value


# Column attributes as Any: SQLModel types them as their values (str, int).
def _ids_by(session: Session, key: Any, site_column: Any, site_id: int) -> dict[str, int]:
    entity = key.class_
    query = select(entity.id, key).where(site_column == site_id)
    return {k: i for i, k in session.connection().execute(query)}


def _build_site(
    session: Session, b: _Builder, plan: SitePlan, statuses: list[str], summary: DemoSummary
) -> SiteSummary:
    """One site with its pool, users, groups and credentials. Only this
    site's rows are in memory at a time, however big the tenant."""
    rng = b.rng
    site = Site(name=plan.name, country=plan.country, sip_domain=plan.sip_domain)
    session.add(site)
    session.flush()
    assert site.id is not None
    site_id = site.id

    # The pool: distinct last four digits, a fifth (at least ten) spare.
    count = len(statuses)
    pool_size = min(POOL_MAX, count + max(10, count // 4))
    first = 1000 if pool_size <= 9000 else 0
    pool = [f"{plan.prefix}{(first + i) % 10_000:04d}" for i in range(pool_size)]
    chosen = rng.sample(pool, count)
    taken = set(chosen)
    spare = [n for n in pool if n not in taken]

    # Carrier flags: every failed user's number, some pending users' numbers
    # (the simulator will fail them), and a few free numbers.
    flagged: dict[str, str] = {}
    waiting = [e164 for e164, status in zip(chosen, statuses, strict=True) if status == _PENDING]
    doomed = set(rng.sample(waiting, max(1, len(waiting) // 20))) if waiting else set()
    for e164, status in zip(chosen, statuses, strict=True):
        if status == _FAILED or e164 in doomed:
            flagged[e164] = rng.choice(FLAG_REASONS)
    for e164 in rng.sample(spare, min(3, len(spare) // 3)):
        flagged[e164] = rng.choice(FLAG_REASONS)
    number_rows = ((e164, site_id, e164 in flagged, flagged.get(e164)) for e164 in pool)
    bulk_insert.copy_rows(session, table_of(PhoneNumber), _NUMBER_COLUMNS, number_rows)
    number_ids = _ids_by(session, PhoneNumber.e164, PhoneNumber.site_id, site_id)

    # Groups first, so call center members can be given their services.
    floors = max(1, min(20, count // 300))
    groups = _group_names(plan, floors, hotline=count >= 1000, second_park=count >= 2000)
    members = _plan_members(rng, groups, statuses)
    agents = {
        i
        for (_, kind), chosen_members in zip(groups, members, strict=True)
        if kind is GroupKind.CALL_CENTER
        for i, role in chosen_members
        if role == CallCenterRole.AGENT.value
    }
    supervisors = {
        i
        for (_, kind), chosen_members in zip(groups, members, strict=True)
        if kind is GroupKind.CALL_CENTER
        for i, role in chosen_members
        if role == CallCenterRole.SUPERVISOR.value
    }
    # R6: one supervisor goes without the service, to show the hint.
    unserviced = min(supervisors) if supervisors else None

    planned = [
        _plan_user(
            b,
            plan,
            site_id,
            e164,
            number_ids[e164],
            status,
            flagged.get(e164),
            chosen,
            agent=i in agents,
            supervisor=i in supervisors and i != unserviced,
        )
        for i, (e164, status) in enumerate(zip(chosen, statuses, strict=True))
    ]
    # In number order: the number and extension indexes then only grow at the end.
    by_number = sorted(range(count), key=chosen.__getitem__)
    bulk_insert.copy_rows(session, table_of(User), _USER_COLUMNS, (planned[i] for i in by_number))
    by_username = _ids_by(session, User.username, User.site_id, site_id)
    user_ids = [by_username[str(row[_USERNAME])] for row in planned]

    group_rows = [(name, site_id, kind.value) for name, kind in groups]
    bulk_insert.copy_rows(session, table_of(Group), _GROUP_COLUMNS, group_rows)
    by_name = _ids_by(session, Group.name, Group.site_id, site_id)
    group_ids = [by_name[name] for name, _ in groups]
    membership_rows = [
        (gid, user_ids[i], role)
        for gid, chosen_members in zip(group_ids, members, strict=True)
        for i, role in chosen_members
    ]
    bulk_insert.copy_rows(session, table_of(GroupMember), _MEMBER_COLUMNS, membership_rows)

    # In user id order (index order, as above).
    desk = sorted((uid, i) for i, uid in enumerate(user_ids) if planned[i][_DEVICE] == _DESK_PHONE)
    credential_rows = (_credential_row(b, uid, chosen[i], plan.sip_domain, planned[i][_CREATED]) for uid, i in desk)
    bulk_insert.copy_rows(session, table_of(DeskPhoneCredential), _CREDENTIAL_COLUMNS, credential_rows)

    summary.groups += len(groups)
    summary.memberships += len(membership_rows)
    summary.desk_phones += len(desk)
    summary.locked_accounts += sum(1 for row in planned if row[_LOCKED])
    return SiteSummary(plan.name, plan.country, count, len(pool), len(pool) - count, len(flagged), len(groups))


def _plan_members(
    rng: random.Random, groups: list[tuple[str, GroupKind]], statuses: list[str]
) -> list[Sequence[tuple[int, str | None]]]:
    """Members by user index for each group. Hunt groups and call centers take
    activated users only (R4); pickup and call park groups anyone."""
    count = len(statuses)
    active = [i for i, s in enumerate(statuses) if s == Status.ACTIVATED.value]
    rng.shuffle(active)
    everyone = list(range(count))
    rng.shuffle(everyone)
    pickups = [i for i, (_, kind) in enumerate(groups) if kind is GroupKind.PICKUP]
    # Pickup groups are floors: each user on at most one, most on none.
    per_floor = max(1, min(15, count // (2 * max(1, len(pickups)))))
    result: list[Sequence[tuple[int, str | None]]] = []
    call_centre_cursor = 0
    for index, (_, kind) in enumerate(groups):
        if kind is GroupKind.HUNT_GROUP:
            chosen = rng.sample(active, min(len(active), rng.randint(3, 8)))
            result.append([(i, None) for i in sorted(chosen)])
        elif kind is GroupKind.CALL_CENTER:
            # Call centers draw from a slice of their own so nobody works in two.
            size = min(60, 5 + count // 150)
            team = active[call_centre_cursor : call_centre_cursor + size]
            call_centre_cursor += size
            bosses = max(1, len(team) // 10) if team else 0
            result.append(
                [(i, CallCenterRole.SUPERVISOR.value) for i in sorted(team[:bosses])]
                + [(i, CallCenterRole.AGENT.value) for i in sorted(team[bosses:])]
            )
        elif kind is GroupKind.PICKUP:
            floor = pickups.index(index)
            chosen = everyone[floor * per_floor : (floor + 1) * per_floor]
            result.append([(i, None) for i in sorted(chosen)])
        else:
            chosen = rng.sample(everyone, min(count, rng.randint(3, 10)))
            result.append([(i, None) for i in sorted(chosen)])
    return result


def _plan_user(
    b: _Builder,
    plan: SitePlan,
    site_id: int,
    e164: str,
    number_id: int,
    status: str,
    flag_reason: str | None,
    colleagues: list[str],
    *,
    agent: bool,
    supervisor: bool,
) -> tuple[object, ...]:
    """One user's row in the order of :data:`_USER_COLUMNS`, values as the
    driver takes them. The random choices are drawn in a fixed order: the
    same seed gives the same users."""
    rng = b.rng
    random = rng.random
    country = plan.country
    first, last = b.person(country)
    username = b.username(first, last)
    desk_phone = random() < 0.75
    services: list[str] = []
    if random() < 0.7:
        services.append("voicemail")
    if random() < 0.2:
        services.append("conferencing")
    if random() < 0.05:
        services.append("call_recording")
    if agent:
        services.append("call_center_agent")
    if supervisor:
        services.append(SUPERVISOR_SERVICE)
    mobile = contract = None
    if not desk_phone or random() < 0.3:
        # R17: required without a desk phone, optional with one.
        mobile, contract = b.mobile(country), b.contract()
        services.append("anywhere")
    if desk_phone:
        licence = _weighted(rng, _DESK_LICENCES, _DESK_LICENCE_WEIGHTS)
        model: str | None = _weighted(rng, _PHONE_MODELS, _PHONE_WEIGHTS)
    else:
        licence = "premium" if random() < 0.3 else "standard"
        model = None
    created, changed = b.timestamps(status)
    # A few locked portal accounts (R12), some more with failed logins.
    locked_roll = random()
    failed_logins = 0
    if locked_roll < 0.08:
        failed_logins = 5 + _pick(rng, range(5)) if locked_roll < 0.03 else 1 + _pick(rng, range(3))
    # Some forward unanswered calls to a colleague's extension.
    forward_no_answer = _pick(rng, colleagues)[-4:] if random() < 0.08 else None
    department = _pick(rng, DEPARTMENTS[country])
    job_title = _pick(rng, JOB_TITLES[country])
    languages = ("de", "en") if country == "DE" else ("en", "de")
    language = languages[0] if random() < 0.85 else languages[1]
    do_not_disturb = random() < 0.03
    call_waiting = random() < 0.9
    timestamp = b.timestamp
    return (
        first,
        last,
        username,
        site_id,
        number_id,
        e164[-4:],  # R2 default: the last four digits
        _DESK_PHONE if desk_phone else _NO_DEVICE,
        model,
        licence,
        b.services_json(services),
        mobile,
        contract,
        f"{username}@{EMAIL_DOMAIN}",
        department,
        job_title,
        language,
        None,  # forward_always
        None,  # forward_busy
        forward_no_answer,
        do_not_disturb,
        call_waiting,
        status,
        flag_reason if status == _FAILED else None,
        timestamp(created),
        timestamp(changed),
        locked_roll < 0.03,
        failed_logins,
        None,  # last_account_reset_at
        None,  # activation_code_digest
        1,  # version
    )


def _credential_row(b: _Builder, user_id: int, e164: str, realm: str, generated_at: object) -> tuple[object, ...]:
    # A throw-away password from the OS, not from the seed: only its digests stay.
    password = os.urandom(15).hex()
    sip_user = e164.lstrip("+")
    return (
        user_id,
        sip_user,
        realm,
        secrets.ha1(sip_user, realm, password, "md5"),
        secrets.ha1(sip_user, realm, password, "sha256"),
        generated_at,
        b.operator,
        _SYSTEM,
        # A simulated tenant's throw-away passwords are nobody's to receive:
        # not "never handed over", or every demo user would be marked (R8).
        True,
    )
