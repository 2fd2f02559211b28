"""The Okta group, role and role-assignment mappings, on real Okta records."""

from __future__ import annotations

import pytest

from unidir.unified.models import Group, Role, RoleAssignment

LIST_GROUPS = "TestGroupsResource.test_list_groups"
GROUP_ROLES = "TestGroupsResource.test_group_roles_operations"
USER_ROLES = "TestUsersResource.test_assign_user_to_role"
CUSTOM_ROLE = "TestRoleAPIResource.test_create_get_delete_role"


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (
            0,
            {
                "id": "00gc04qatkiyWnGoq4x6",
                "name": "Everyone",
                "description": "All users in your organization",
                "group_type": "group",
                "created_at": "2020-05-13T13:29:23.000Z",
                "updated_at": "2020-05-13T13:29:23.000Z",
            },
        ),
        (
            1,
            {
                "id": "00gsfaq86mwHfGtjb4x6",
                "name": "Group-Target-Test",
                "description": None,
                "group_type": "group",
                "created_at": "2020-08-27T18:15:50.000Z",
                "updated_at": "2020-08-27T18:15:50.000Z",
            },
        ),
    ],
    ids=["built-in-group", "okta-group-without-description"],
)
def test_group(okta_mapping, recorded, index, expected):
    okta_group = recorded(LIST_GROUPS, "GET", "/api/v1/groups")[index]

    group = okta_mapping("group").evaluate(okta_group)

    assert group == expected
    Group.model_validate(group)


def test_custom_role_definition(okta_mapping, recorded):
    definition = recorded(CUSTOM_ROLE, "GET", "/api/v1/iam/roles/cr0qeufik1K9u9Ssg5d7")

    role = okta_mapping("role").evaluate(definition)

    assert role == {
        "id": "cr0qeufik1K9u9Ssg5d7",
        "name": "Test-Custom-Role",
        "label": "Test-Custom-Role",
        "description": "Test custom role for VCR testing",
        "type": "CUSTOM",
        "created_at": "2025-09-04T20:26:33.000Z",
        "updated_at": "2025-09-04T20:26:33.000Z",
    }
    Role.model_validate(role)


def test_standard_role_from_an_assignment_is_the_role_not_the_assignment(okta_mapping, recorded):
    assignment = recorded(USER_ROLES, "GET", "/api/v1/users/00usfex7wP9lvobJ84x6/roles")[0]

    role = okta_mapping("role").evaluate(assignment)

    assert role == {
        "id": "USER_ADMIN",
        "name": "User Administrator",
        "label": "User Administrator",
        "type": "USER_ADMIN",
    }


@pytest.mark.parametrize(
    ("cassette", "path", "expected"),
    [
        (
            USER_ROLES,
            "/api/v1/users/00usfex7wP9lvobJ84x6/roles",
            {
                "id": "KVJUKUS7IFCE2SKO",
                "role_id": "USER_ADMIN",
                "user_id": "00usfex7wP9lvobJ84x6",
                "created_at": "2020-08-27T18:19:43.000Z",
                "updated_at": "2020-08-27T18:19:43.000Z",
            },
        ),
        (
            GROUP_ROLES,
            "/api/v1/groups/00gsfarpwDkGSzs394x6/roles",
            {
                "id": "IFIFAX2BIRGUSTQ",
                "role_id": "APP_ADMIN",
                "group_id": "00gsfarpwDkGSzs394x6",
                "group_type": "group",
                "created_at": "2020-08-27T18:15:56.000Z",
                "updated_at": "2020-08-27T18:15:56.000Z",
            },
        ),
    ],
    ids=["assigned-to-user", "assigned-to-group"],
)
def test_role_assignment(okta_mapping, recorded, cassette, path, expected):
    assignment = recorded(cassette, "GET", path)[0]

    mapped = okta_mapping("role_assignment").evaluate(assignment)

    assert mapped == expected
    RoleAssignment.model_validate(mapped)


def test_custom_role_assignment_points_at_the_custom_role(okta_mapping):
    # Shape of Okta's CustomRole assignment schema (the cassettes record none).
    assignment = {
        "id": "irb1qe6PGuMc7Oh8N0g4",
        "label": "Auditor",
        "type": "CUSTOM",
        "role": "cr0qeufik1K9u9Ssg5d7",
        "resource-set": "iamoJDFKaJxGIr0oamd9g",
        "assignmentType": "USER",
        "_links": {"assignee": {"href": "https://test.okta.com/api/v1/users/00u1"}},
    }

    assert okta_mapping("role_assignment").evaluate(assignment)["role_id"] == (
        "cr0qeufik1K9u9Ssg5d7"
    )
    assert okta_mapping("role").evaluate(assignment)["id"] == "cr0qeufik1K9u9Ssg5d7"
