"""``/api/v1/groups``: groups and their memberships. The built-in groups (Everyone, Okta
Administrators) cannot be renamed, deleted, or have members added or removed by hand."""

from __future__ import annotations

from typing import Any

from unidir.sandbox.okta import errors, render
from unidir.sandbox.okta.call import Call, Reply, page_links, take_page
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.model import Group
from unidir.sandbox.okta.org import BUILT_IN_TYPE
from unidir.sandbox.okta.query import GROUP_FILTER, GROUP_SEARCH, Predicate, compile_query

_TOP_LEVEL = {
    "id": "id",
    "type": "type",
    "created": "created",
    "lastUpdated": "last_updated",
    "lastMembershipUpdated": "last_membership_updated",
}


def read_attribute(group: Group, name: str) -> Any:
    if name.startswith("profile."):
        return group.profile.get(name[len("profile.") :])
    attribute = _TOP_LEVEL.get(name)
    return getattr(group, attribute) if attribute else None


async def list_groups(call: Call) -> Reply:
    org = call.org
    q, filter_text, search_text = (call.query.get(n) for n in ("q", "filter", "search"))
    keep: Predicate
    if search_text is not None:
        keep = compile_query(search_text, GROUP_SEARCH, read_attribute)
    elif filter_text is not None:
        keep = compile_query(filter_text, GROUP_FILTER, read_attribute)
    elif q is not None:
        prefix = q.lower()

        def keep(group: Any) -> bool:
            return str(group.profile.get("name") or "").lower().startswith(prefix)

    else:

        def keep(group: Any) -> bool:
            return True

    limit = call.limit(10000, 10000)
    after = call.query.get("after")
    if after is not None and not org.group_order.knows(after):
        raise errors.invalid_search()
    page, cursor = take_page(org.iter_groups(after), limit, keep, lambda g: g.id)
    return Reply(200, [render.group(g, call.base) for g in page], page_links(call, limit, cursor))


def _profile(call: Call) -> dict[str, Any]:
    body = call.json_object()
    profile = body.get("profile")
    if not isinstance(profile, dict) or not profile.get("name"):
        raise errors.field_blank("name")
    return profile


def _check_name_free(call: Call, name: str, own_id: str | None) -> None:
    wanted = name.lower()
    for group in call.org.groups.values():
        if group.id != own_id and str(group.profile.get("name", "")).lower() == wanted:
            raise errors.field_already_exists("name")


async def create_group(call: Call) -> Reply:
    profile = _profile(call)
    _check_name_free(call, str(profile["name"]), None)
    stamp = now_timestamp()
    group = Group(
        id=call.org.new_group_id(),
        type="OKTA_GROUP",
        created=stamp,
        last_updated=stamp,
        last_membership_updated=stamp,
        profile=dict(profile),
    )
    call.org.add_group(group)
    return Reply(200, render.group(group, call.base))


def _find(call: Call) -> Group:
    return call.org.find_group(call.path_params["groupId"])


def _modifiable(group: Group) -> Group:
    if group.type == BUILT_IN_TYPE:
        raise errors.access_denied()
    return group


async def get_group(call: Call) -> Reply:
    return Reply(200, render.group(_find(call), call.base))


async def replace_group(call: Call) -> Reply:
    group = _modifiable(_find(call))
    profile = _profile(call)
    _check_name_free(call, str(profile["name"]), group.id)
    group.profile = dict(profile)
    group.last_updated = now_timestamp()
    return Reply(200, render.group(group, call.base))


async def delete_group(call: Call) -> Reply:
    call.org.remove_group(_modifiable(_find(call)))
    return Reply(204)


async def list_group_users(call: Call) -> Reply:
    org = call.org
    group = _find(call)
    index = org.member_index(group)
    limit = call.limit(1000, 10000)
    after = call.query.get("after")
    if after is not None and not index.knows(after):
        raise errors.invalid_search()
    users = (org.users[user_id] for user_id in index.iter_after(after))
    page, cursor = take_page(users, limit, lambda u: True, lambda u: u.id)
    base, type_id = call.base, org.user_type_id
    return Reply(
        200, [render.user_in_list(u, base, type_id) for u in page], page_links(call, limit, cursor)
    )


async def add_member(call: Call) -> Reply:
    group = _modifiable(_find(call))
    user = call.org.find_user(call.path_params["userId"])
    call.org.add_member(group, user)
    return Reply(204)


async def remove_member(call: Call) -> Reply:
    group = _modifiable(_find(call))
    user = call.org.find_user(call.path_params["userId"])
    call.org.remove_member(group, user)
    return Reply(204)
