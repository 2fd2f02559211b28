"""The state of one Okta org: users, groups, memberships, admin roles and factors.

Lookups are O(1) by id and by lowercased login; listings page through ``OrderedIndex`` so a
page costs what it returns, not the size of the org. Every org has Okta's two built-in
groups. Everyone is not stored as memberships: every user belongs to it, so its members are
the org's users. Okta Administrators holds every user with an admin role: Okta keeps it in
step with role assignments, so it changes only through ``grant_role`` and ``revoke_role``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from unidir.sandbox.okta import errors
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.ids import GROUP_PREFIX, USER_PREFIX, IdFactory
from unidir.sandbox.okta.model import Factor, Group, RoleAssignment, User
from unidir.sandbox.okta.ordered import OrderedIndex

BUILT_IN_TYPE = "BUILT_IN"
# Names and descriptions as Okta shows them in every org.
EVERYONE_PROFILE = {"name": "Everyone", "description": "All users in your organization"}
ADMINISTRATORS_PROFILE = {
    "name": "Okta Administrators",
    "description": (
        "Okta manages this group, which contains all administrators in your organization."
    ),
}


class Org:
    def __init__(self, seed: int = 0) -> None:
        self.ids = IdFactory(random.Random(seed))
        self.user_type_id = self.ids.object_id("oty")
        self.user_schema_id = self.ids.object_id("osc")
        self._empty()
        self.everyone = self._built_in_group(EVERYONE_PROFILE)
        self.administrators = self._built_in_group(ADMINISTRATORS_PROFILE)
        self._install_built_in_groups()

    def _empty(self) -> None:
        self.users: dict[str, User] = {}
        self.user_order = OrderedIndex()
        self._by_login: dict[str, str] = {}
        self.groups: dict[str, Group] = {}
        self.group_order = OrderedIndex()
        self._members: dict[str, OrderedIndex] = {}
        self._groups_of: dict[str, OrderedIndex] = {}
        self.roles: dict[str, dict[str, RoleAssignment]] = {}
        self.factors: dict[str, dict[str, Factor]] = {}
        # The admin who created the org's API tokens; None until a seed creates one.
        self.token_owner_id: str | None = None

    def clear(self) -> None:
        """Back to a new org: no users and no groups but the same two built-in groups."""
        self._empty()
        stamp = now_timestamp()
        self.everyone.last_membership_updated = stamp
        self.administrators.last_membership_updated = stamp
        self._install_built_in_groups()

    def _built_in_group(self, profile: dict[str, str]) -> Group:
        stamp = now_timestamp()
        return Group(
            id=self.ids.object_id(GROUP_PREFIX),
            type=BUILT_IN_TYPE,
            created=stamp,
            last_updated=stamp,
            last_membership_updated=stamp,
            profile=dict(profile),
        )

    def _install_built_in_groups(self) -> None:
        self.groups[self.everyone.id] = self.everyone
        self.group_order.add(self.everyone.id)
        self.add_group(self.administrators)

    # users

    def new_user_id(self) -> str:
        while True:
            candidate = self.ids.object_id(USER_PREFIX)
            if candidate not in self.users and not self.user_order.knows(candidate):
                return candidate

    def add_user(self, user: User) -> None:
        if user.login_key in self._by_login:
            raise errors.field_already_exists("login")
        self.users[user.id] = user
        self.user_order.add(user.id)
        self._by_login[user.login_key] = user.id
        self._groups_of[user.id] = OrderedIndex()
        self.everyone.last_membership_updated = user.created

    def find_user(self, id_or_login: str) -> User:
        user = self.users.get(id_or_login)
        if user is None:
            user_id = self._by_login.get(id_or_login.lower())
            user = self.users.get(user_id) if user_id else None
        if user is None:
            raise errors.not_found(id_or_login, "User")
        return user

    def has_login(self, login: str) -> bool:
        return login.lower() in self._by_login

    def change_login(self, user: User, new_login: str) -> None:
        new_key = new_login.lower()
        owner = self._by_login.get(new_key)
        if owner is not None and owner != user.id:
            raise errors.field_already_exists("login")
        del self._by_login[user.login_key]
        self._by_login[new_key] = user.id

    def remove_user(self, user: User) -> None:
        for group_id in list(self._groups_of[user.id].iter_after(None)):
            self._members[group_id].discard(user.id)
        del self._groups_of[user.id]
        self.roles.pop(user.id, None)
        self.factors.pop(user.id, None)
        del self._by_login[user.login_key]
        del self.users[user.id]
        self.user_order.discard(user.id)
        self.everyone.last_membership_updated = now_timestamp()

    def iter_users(self, after: str | None) -> Iterator[User]:
        users = self.users
        for user_id in self.user_order.iter_after(after):
            yield users[user_id]

    # groups

    def new_group_id(self) -> str:
        while True:
            candidate = self.ids.object_id(GROUP_PREFIX)
            if candidate not in self.groups and not self.group_order.knows(candidate):
                return candidate

    def add_group(self, group: Group) -> None:
        self.groups[group.id] = group
        self.group_order.add(group.id)
        self._members[group.id] = OrderedIndex()

    def find_group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise errors.not_found(group_id, "UserGroup")
        return group

    def remove_group(self, group: Group) -> None:
        for user_id in self._members.pop(group.id).iter_after(None):
            self._groups_of[user_id].discard(group.id)
        del self.groups[group.id]
        self.group_order.discard(group.id)

    def iter_groups(self, after: str | None) -> Iterator[Group]:
        groups = self.groups
        for group_id in self.group_order.iter_after(after):
            yield groups[group_id]

    # memberships

    def add_member(self, group: Group, user: User, stamp: str | None = None) -> None:
        members = self._members[group.id]
        if user.id not in members:
            members.add(user.id)
            self._groups_of[user.id].add(group.id)
        group.last_membership_updated = stamp or now_timestamp()

    def remove_member(self, group: Group, user: User) -> None:
        self._members[group.id].discard(user.id)
        self._groups_of[user.id].discard(group.id)
        group.last_membership_updated = now_timestamp()

    def member_index(self, group: Group) -> OrderedIndex:
        return self.user_order if group is self.everyone else self._members[group.id]

    def groups_of(self, user: User) -> Iterator[Group]:
        yield self.everyone
        for group_id in self._groups_of[user.id].iter_after(None):
            yield self.groups[group_id]

    # roles and factors

    def roles_of(self, user: User) -> dict[str, RoleAssignment]:
        return self.roles.setdefault(user.id, {})

    def grant_role(self, user: User, assignment: RoleAssignment) -> None:
        self.roles_of(user)[assignment.id] = assignment
        self.add_member(self.administrators, user, assignment.created)

    def revoke_role(self, user: User, assignment: RoleAssignment) -> None:
        assigned = self.roles_of(user)
        del assigned[assignment.id]
        if not assigned:
            self.remove_member(self.administrators, user)

    def factors_of(self, user: User) -> dict[str, Factor]:
        return self.factors.setdefault(user.id, {})
