"""The state of one Okta org: users, groups, memberships, admin roles and factors.

Lookups are O(1) by id and by lowercased login; listings page through ``OrderedIndex`` so a
page costs what it returns, not the size of the org. The Everyone group is not stored as
memberships: every user belongs to it, so its members are the org's users.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from unidir.sandbox.okta import errors
from unidir.sandbox.okta.clock import now_timestamp
from unidir.sandbox.okta.ids import GROUP_PREFIX, USER_PREFIX, IdFactory
from unidir.sandbox.okta.model import Factor, Group, RoleAssignment, User
from unidir.sandbox.okta.ordered import OrderedIndex

EVERYONE_TYPE = "BUILT_IN"


class Org:
    def __init__(self, seed: int = 0) -> None:
        self.ids = IdFactory(random.Random(seed))
        self.user_type_id = self.ids.object_id("oty")
        self.user_schema_id = self.ids.object_id("osc")
        self._empty()
        self.everyone = self._create_everyone()

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

    def clear(self) -> None:
        """Back to a new org: no users and no groups but the same Everyone group."""
        self._empty()
        self.everyone.last_membership_updated = now_timestamp()
        self.groups[self.everyone.id] = self.everyone
        self.group_order.add(self.everyone.id)

    def _create_everyone(self) -> Group:
        stamp = now_timestamp()
        group = Group(
            id=self.ids.object_id(GROUP_PREFIX),
            type=EVERYONE_TYPE,
            created=stamp,
            last_updated=stamp,
            last_membership_updated=stamp,
            profile={"name": "Everyone", "description": "All users in your organization"},
        )
        self.groups[group.id] = group
        self.group_order.add(group.id)
        return group

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

    def factors_of(self, user: User) -> dict[str, Factor]:
        return self.factors.setdefault(user.id, {})
