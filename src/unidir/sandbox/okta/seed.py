"""Deterministic, realistic org content: the same seed always yields the same users,
groups, memberships, roles and factors (ids included)."""

from __future__ import annotations

import random
from collections.abc import Container
from dataclasses import dataclass

from unidir.sandbox.okta.clock import okta_timestamp
from unidir.sandbox.okta.ids import (
    FACTOR_PREFIXES,
    GROUP_PREFIX,
    USER_PREFIX,
    IdFactory,
    standard_role_assignment_id,
)
from unidir.sandbox.okta.lifecycle import Status
from unidir.sandbox.okta.model import ROLE_LABELS, Factor, Group, RoleAssignment, User
from unidir.sandbox.okta.org import Org

_FIRST_NAMES = (
    "Ada",
    "Alan",
    "Alice",
    "Amara",
    "Ana",
    "Arjun",
    "Ava",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emma",
    "Ethan",
    "Fatima",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Jamal",
    "Jana",
    "Jonas",
    "Julia",
    "Kai",
    "Kenji",
    "Laila",
    "Leo",
    "Lucia",
    "Maya",
    "Mateo",
    "Mei",
    "Mia",
    "Nadia",
    "Noah",
    "Nora",
    "Omar",
    "Olivia",
    "Priya",
    "Rafael",
    "Rosa",
    "Sam",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
)
_LAST_NAMES = (
    "Abbott",
    "Adeyemi",
    "Alvarez",
    "Andersen",
    "Baker",
    "Bauer",
    "Becker",
    "Brown",
    "Campbell",
    "Chen",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Hansen",
    "Hughes",
    "Ito",
    "Jensen",
    "Johnson",
    "Kaur",
    "Khan",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Miller",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wilson",
    "Yilmaz",
    "Young",
    "Zhang",
)
_DEPARTMENTS = (
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "People",
    "Support",
    "Legal",
    "Operations",
    "Product",
    "Design",
)
_TITLES = (
    "Software Engineer",
    "Senior Software Engineer",
    "Engineering Manager",
    "Account Executive",
    "Sales Manager",
    "Marketing Specialist",
    "Financial Analyst",
    "HR Business Partner",
    "Support Specialist",
    "Counsel",
    "Operations Lead",
    "Product Manager",
    "Product Designer",
    "Director",
)
_PLACES = (
    ("en_US", "America/New_York", "New York", "US"),
    ("en_US", "America/Los_Angeles", "San Francisco", "US"),
    ("en_GB", "Europe/London", "London", "GB"),
    ("de_DE", "Europe/Berlin", "Berlin", "DE"),
    ("fr_FR", "Europe/Paris", "Paris", "FR"),
    ("ja_JP", "Asia/Tokyo", "Tokyo", "JP"),
    ("en_IN", "Asia/Kolkata", "Bengaluru", "IN"),
    ("pt_BR", "America/Sao_Paulo", "São Paulo", "BR"),
)
_TEAMS = ("Admins", "Contractors", "On-call", "Managers", "Remote", "Interns", "Beta testers")
# Weighted so that most users are ACTIVE, with every other status represented.
_STATUS_WEIGHTS = (
    (Status.ACTIVE, 78),
    (Status.STAGED, 5),
    (Status.PROVISIONED, 4),
    (Status.SUSPENDED, 4),
    (Status.DEPROVISIONED, 3),
    (Status.LOCKED_OUT, 2),
    (Status.PASSWORD_EXPIRED, 2),
    (Status.RECOVERY, 2),
)
_FACTOR_TYPES = ("token:software:totp", "push", "sms", "email")
_SECONDARY_ROLES = ("USER_ADMIN", "HELP_DESK_ADMIN", "READ_ONLY_ADMIN", "GROUP_MEMBERSHIP_ADMIN")
# Seeded content is dated in the past, from a fixed origin, so a seed is reproducible.
_ORIGIN = 1_704_067_200  # 2024-01-01T00:00:00Z
_SPAN = 365 * 24 * 3600


@dataclass(frozen=True)
class Seeded:
    user_ids: list[str]
    group_ids: list[str]


def default_group_count(users: int) -> int:
    return min(len(_DEPARTMENTS) + len(_TEAMS), max(3, users // 25)) if users else 0


def _group_names(count: int) -> list[str]:
    names = list(_DEPARTMENTS) + list(_TEAMS)
    names += [f"Project {n}" for n in range(1, max(0, count - len(names)) + 1)]
    return names[:count]


def seed_org(org: Org, users: int, groups: int, seed: int) -> Seeded:
    rng = random.Random(seed)
    ids = IdFactory(rng)
    group_list = _seed_groups(org, ids, rng, groups)
    statuses = [s for s, _ in _STATUS_WEIGHTS]
    weights = [w for _, w in _STATUS_WEIGHTS]
    user_ids: list[str] = []
    taken: dict[str, int] = {}
    for number in range(users):
        user = _seed_user(org, ids, rng, number, statuses, weights, taken)
        org.add_user(user)
        user_ids.append(user.id)
        department = user.profile["department"]
        for group in group_list:
            if group.profile["name"] == department or rng.random() < 0.08:
                org.add_member(group, user, user.created)
        _seed_roles(org, rng, user, first=number == 0)
        _seed_factors(org, ids, rng, user)
    return Seeded(user_ids, [g.id for g in group_list])


def _unused(ids: IdFactory, prefix: str, taken: Container[str]) -> str:
    while True:
        candidate = ids.object_id(prefix)
        if candidate not in taken:
            return candidate


def _seed_groups(org: Org, ids: IdFactory, rng: random.Random, count: int) -> list[Group]:
    existing = {str(g.profile.get("name", "")).lower() for g in org.groups.values()}
    created: list[Group] = []
    for name in _group_names(count):
        if name.lower() in existing:
            name = f"{name} {rng.randint(2, 9999)}"
        stamp = okta_timestamp(_ORIGIN + rng.randrange(_SPAN // 4))
        group = Group(
            id=_unused(ids, GROUP_PREFIX, org.groups),
            type="OKTA_GROUP",
            created=stamp,
            last_updated=stamp,
            last_membership_updated=stamp,
            profile={"name": name, "description": f"{name} team"},
        )
        org.add_group(group)
        created.append(group)
    return created


def _login(org: Org, first: str, last: str, taken: dict[str, int]) -> str:
    """first.last@example.com, numbered from 2 when taken. ``taken`` remembers the next
    number per name, so a large seed does not probe every earlier number again."""
    base = f"{first}.{last}".lower()
    suffix = taken.get(base, 1)
    login = f"{base}@example.com" if suffix == 1 else f"{base}{suffix}@example.com"
    while org.has_login(login):
        suffix += 1
        login = f"{base}{suffix}@example.com"
    taken[base] = suffix + 1
    return login


def _seed_user(
    org: Org,
    ids: IdFactory,
    rng: random.Random,
    number: int,
    statuses: list[Status],
    weights: list[int],
    taken: dict[str, int],
) -> User:
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    locale, timezone, city, country = rng.choice(_PLACES)
    # The first seeded user is the org's super admin and always active.
    status = Status.ACTIVE if number == 0 else rng.choices(statuses, weights)[0]
    created_at = _ORIGIN + rng.randrange(_SPAN // 2)
    changed_at = created_at + rng.randrange(_SPAN // 2)
    login = _login(org, first, last, taken)
    created, changed = okta_timestamp(created_at), okta_timestamp(changed_at)
    profile = {
        "firstName": first,
        "lastName": last,
        "mobilePhone": f"+1 555 01{rng.randrange(100):02d} {rng.randrange(10000):04d}",
        "secondEmail": None,
        "login": login,
        "email": login,
        "displayName": f"{first} {last}",
        "title": rng.choice(_TITLES),
        "department": rng.choice(_DEPARTMENTS),
        "employeeNumber": f"{10000 + number}",
        "primaryPhone": f"+1 555 02{rng.randrange(100):02d} {rng.randrange(10000):04d}",
        "locale": locale,
        "timezone": timezone,
        "preferredLanguage": locale.split("_")[0],
        "city": city,
        "countryCode": country,
    }
    never_activated = status in (Status.STAGED,)
    has_password = status not in (Status.STAGED, Status.PROVISIONED)
    return User(
        id=_unused(ids, USER_PREFIX, org.users),
        status=status,
        created=created,
        last_updated=changed,
        profile=profile,
        activated=None if never_activated else created,
        # Seeded STAGED users have no password, and Okta gives those no statusChanged.
        status_changed=None if status is Status.STAGED else changed,
        last_login=changed if status is Status.ACTIVE else None,
        password_changed=created if has_password else None,
        has_password=has_password,
    )


def _seed_roles(org: Org, rng: random.Random, user: User, first: bool) -> None:
    if first:
        role_type = "SUPER_ADMIN"
    elif user.status is Status.ACTIVE and rng.random() < 0.03:
        role_type = rng.choice(_SECONDARY_ROLES)
    else:
        return
    assignment = RoleAssignment(
        id=standard_role_assignment_id(role_type),
        type=role_type,
        label=ROLE_LABELS[role_type],
        created=user.created,
        last_updated=user.created,
    )
    org.grant_role(user, assignment)


def _seed_factors(org: Org, ids: IdFactory, rng: random.Random, user: User) -> None:
    if user.status in (Status.STAGED, Status.PROVISIONED, Status.DEPROVISIONED):
        return
    if rng.random() >= 0.6:
        return
    factors = org.factors_of(user)
    for factor_type in rng.sample(_FACTOR_TYPES, rng.randint(1, 2)):
        profile: dict[str, object]
        if factor_type == "sms":
            profile = {"phoneNumber": user.profile["mobilePhone"]}
        elif factor_type == "email":
            profile = {"email": user.profile["email"]}
        elif factor_type == "push":
            profile = {
                "credentialId": user.profile["login"],
                "deviceType": "SmartPhone_IPhone",
                "name": f"{user.profile['firstName']}'s iPhone",
                "platform": "IOS",
                "version": "17.4",
            }
        else:
            profile = {"credentialId": user.profile["login"]}
        status = "ACTIVE" if rng.random() < 0.9 else "PENDING_ACTIVATION"
        factor = Factor(
            id=ids.object_id(FACTOR_PREFIXES[factor_type]),
            factor_type=factor_type,
            status=status,
            created=user.created,
            last_updated=user.created,
            profile=profile,
        )
        factors[factor.id] = factor
