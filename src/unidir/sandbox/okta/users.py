"""``/api/v1/users``: list, create, read, update, replace and two-step delete."""

from __future__ import annotations

from typing import Any

from unidir.sandbox.okta import errors, render
from unidir.sandbox.okta.call import Call, Reply, page_links, take_page
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.lifecycle import Status
from unidir.sandbox.okta.model import BASE_PROFILE_KEYS, User
from unidir.sandbox.okta.query import (
    USER_FILTER,
    USER_SEARCH,
    AttributeReader,
    Predicate,
    compile_query,
)

_REQUIRED_PROFILE = ("login", "email", "firstName", "lastName")
_TOP_LEVEL = {
    "id": "id",
    "status": "status",
    "created": "created",
    "activated": "activated",
    "statusChanged": "status_changed",
    "lastUpdated": "last_updated",
    "lastLogin": "last_login",
    "passwordChanged": "password_changed",
}
_DEFAULT_LIMIT = 200
_MAX_LIMIT = 200
_Q_DEFAULT_LIMIT = 10


def attribute_reader(type_id: str) -> AttributeReader:
    """Reads the attributes `filter` and `search` may name; every user has the org's type."""

    def read(user: User, name: str) -> Any:
        if name.startswith("profile."):
            return user.profile.get(name[len("profile.") :])
        if name == "type.id":
            return type_id
        return _top_level(user, name)

    return read


def _top_level(user: User, name: str) -> Any:
    attribute = _TOP_LEVEL.get(name)
    if attribute is None:
        return None
    value = getattr(user, attribute)
    return value.value if isinstance(value, Status) else value


def _not_deprovisioned(user: User) -> bool:
    return user.status is not Status.DEPROVISIONED


def _q_matches(text: str) -> Predicate:
    prefix = text.lower()

    def matches(user: User) -> bool:
        if user.status is Status.DEPROVISIONED:
            return False
        profile = user.profile
        return any(
            str(profile.get(name) or "").lower().startswith(prefix)
            for name in ("firstName", "lastName", "email")
        )

    return matches


async def list_users(call: Call) -> Reply:
    org = call.org
    q, filter_text, search_text = (call.query.get(n) for n in ("q", "filter", "search"))
    keep: Predicate
    read = attribute_reader(org.user_type_id)
    if search_text is not None:
        keep = compile_query(search_text, USER_SEARCH, read)
    elif filter_text is not None:
        keep = compile_query(filter_text, USER_FILTER, read)
    elif q is not None:
        keep = _q_matches(q)
    else:
        keep = _not_deprovisioned
    limit = call.limit(_Q_DEFAULT_LIMIT if q is not None else _DEFAULT_LIMIT, _MAX_LIMIT)
    after = call.query.get("after")
    if after is not None and not org.user_order.knows(after):
        raise errors.invalid_search()
    page, cursor = take_page(org.iter_users(after), limit, keep, lambda u: u.id)
    if q is not None:
        cursor = None  # `q` does not paginate (spec: listUsers)
    base, type_id = call.base, org.user_type_id
    return Reply(
        200, [render.user_in_list(u, base, type_id) for u in page], page_links(call, limit, cursor)
    )


def _profile_from(body: dict[str, Any]) -> dict[str, Any]:
    profile = body.get("profile")
    if not isinstance(profile, dict):
        raise errors.field_blank("login")
    return profile


def _check_required(profile: dict[str, Any]) -> None:
    missing = [name for name in _REQUIRED_PROFILE if not profile.get(name)]
    if missing:
        raise errors.validation_failed(
            missing[0], *(f"{name}: The field cannot be left blank" for name in missing)
        )
    login = profile["login"]
    if not isinstance(login, str) or len(login) < 5 or len(login) > 100:
        raise errors.validation_failed("login", "login: Username must be 5 to 100 characters")


def _full_profile(given: dict[str, Any]) -> dict[str, Any]:
    profile: dict[str, Any] = dict.fromkeys(BASE_PROFILE_KEYS)
    profile.update(given)
    return profile


def _apply_credentials(user: User, body: dict[str, Any], stamp: str) -> None:
    credentials = body.get("credentials")
    if not isinstance(credentials, dict):
        return
    password = credentials.get("password")
    if isinstance(password, dict) and password.get("value"):
        user.has_password = True
        user.password_changed = stamp
    question = credentials.get("recovery_question")
    if isinstance(question, dict) and question.get("question"):
        user.recovery_question = str(question["question"])


async def create_user(call: Call) -> Reply:
    body = call.json_object()
    profile = _profile_from(body)
    _check_required(profile)
    org = call.org
    group_ids = body.get("groupIds") or []
    if not isinstance(group_ids, list):
        raise errors.validation_failed("groupIds", "groupIds: must be a list of group ids")
    groups = []
    for group_id in group_ids:
        if str(group_id) not in org.groups:
            raise errors.validation_failed("groupIds", f"groupIds: Group {group_id} not found")
        groups.append(org.groups[str(group_id)])
    activate = call.flag("activate", True)
    expire_at_next_login = call.query.get("nextLogin") == "changePassword"
    stamp = now_timestamp()
    user = User(
        id=org.new_user_id(),
        status=Status.STAGED,
        created=stamp,
        last_updated=stamp,
        status_changed=stamp,
        profile=_full_profile(profile),
    )
    _apply_credentials(user, body, stamp)
    if expire_at_next_login and not activate:
        raise errors.OktaApiError(
            400,
            "E0000125",
            "Could not create user. To create a user and expire their password immediately, "
            "`activate` must be true.",
        )
    if not activate and not user.has_password:
        # Okta leaves statusChanged null on a user staged without a password; one staged
        # with a password is stamped (recorded in 2025).
        user.status_changed = None
    if activate:
        user.activated = stamp
        user.status = Status.ACTIVE if user.has_password else Status.PROVISIONED
        if expire_at_next_login:
            if not user.has_password:
                raise errors.OktaApiError(
                    400,
                    "E0000124",
                    "Could not create user. To create a user and expire their password "
                    "immediately, a password must be specified.",
                )
            user.status = Status.PASSWORD_EXPIRED
    org.add_user(user)
    for group in groups:
        org.add_member(group, user)
    return Reply(200, render.user_full(user, call.base, org.user_type_id, org.user_schema_id))


def find_user(call: Call, key: str = "id") -> User:
    ident = call.path_params[key]
    if ident == "me":
        owner = call.sandbox.token_owner()
        if owner is None:
            raise errors.not_found("me", "User")
        return owner
    return call.org.find_user(ident)


async def get_user(call: Call) -> Reply:
    user = find_user(call)
    org = call.org
    return Reply(200, render.user_full(user, call.base, org.user_type_id, org.user_schema_id))


def _update(call: Call, replace: bool) -> Reply:
    user = find_user(call)
    body = call.json_object()
    org = call.org
    given = body.get("profile")
    stamp = now_timestamp()
    if given is not None:
        if not isinstance(given, dict):
            raise errors.malformed_body()
        profile = _full_profile(given) if replace else {**user.profile, **given}
        _check_required(profile)
        if str(profile["login"]).lower() != user.login_key:
            org.change_login(user, str(profile["login"]))
        user.profile = profile
    elif replace:
        raise errors.field_blank("login")
    _apply_credentials(user, body, stamp)
    user.last_updated = stamp
    return Reply(200, render.user_full(user, call.base, org.user_type_id, org.user_schema_id))


async def update_user(call: Call) -> Reply:
    return _update(call, replace=False)


async def replace_user(call: Call) -> Reply:
    return _update(call, replace=True)


async def delete_user(call: Call) -> Reply:
    """First call deactivates, second removes (Okta's two-step delete)."""
    user = find_user(call)
    if user.status is Status.DEPROVISIONED:
        call.org.remove_user(user)
    else:
        stamp = now_timestamp()
        user.status = Status.DEPROVISIONED
        user.status_changed = stamp
        user.last_updated = stamp
    return Reply(204)


async def list_user_groups(call: Call) -> Reply:
    user = find_user(call)
    limit = call.limit(200, 10000)
    groups = list(call.org.groups_of(user))
    after = call.query.get("after")
    start = 0
    if after is not None:
        ids = [g.id for g in groups]
        if after not in ids:
            raise errors.invalid_search()
        start = ids.index(after) + 1
    page, cursor = take_page(iter(groups[start:]), limit, lambda g: True, lambda g: g.id)
    return Reply(200, [render.group(g, call.base) for g in page], page_links(call, limit, cursor))
