"""Settings read from the environment: defaults, and a clear stop on a bad value."""

from __future__ import annotations

import pytest

from unidir.settings import Settings


def test_the_bulk_lease_defaults_to_30_seconds_and_reads_its_variable(tmp_path) -> None:
    assert Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path)}).bulk_lease_seconds == 30.0
    configured = Settings.from_env(
        {"UNIDIR_DATA_DIR": str(tmp_path), "UNIDIR_BULK_LEASE_SECONDS": "2.5"}
    )
    assert configured.bulk_lease_seconds == 2.5


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan", "inf"])
def test_a_bulk_lease_that_is_not_a_positive_number_stops_with_its_name(
    tmp_path, value: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path), "UNIDIR_BULK_LEASE_SECONDS": value})
    assert "UNIDIR_BULK_LEASE_SECONDS" in str(stopped.value)
    assert value in str(stopped.value)


@pytest.mark.parametrize(
    ("variable", "attribute", "default", "configured", "expected"),
    [
        pytest.param(
            "UNIDIR_BULK_MAX_PER_ENVIRONMENT", "bulk_max_per_environment", 4, "2", 2, id="cap"
        ),
        pytest.param(
            "UNIDIR_BULK_ITEM_DEADLINE_SECONDS",
            "bulk_item_deadline_seconds",
            60.0,
            "7.5",
            7.5,
            id="deadline",
        ),
    ],
)
def test_bulk_fairness_settings_default_and_read_their_variable(
    tmp_path, variable: str, attribute: str, default: float, configured: str, expected: float
) -> None:
    assert getattr(Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path)}), attribute) == default
    settings = Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path), variable: configured})
    assert getattr(settings, attribute) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("UNIDIR_BULK_MAX_PER_ENVIRONMENT", "0", id="cap-zero"),
        pytest.param("UNIDIR_BULK_MAX_PER_ENVIRONMENT", "2.5", id="cap-fraction"),
        pytest.param("UNIDIR_BULK_MAX_PER_ENVIRONMENT", "many", id="cap-word"),
        pytest.param("UNIDIR_BULK_MAX_PER_ENVIRONMENT", "inf", id="cap-inf"),
        pytest.param("UNIDIR_BULK_ITEM_DEADLINE_SECONDS", "0", id="deadline-zero"),
        pytest.param("UNIDIR_BULK_ITEM_DEADLINE_SECONDS", "-1", id="deadline-negative"),
        pytest.param("UNIDIR_BULK_ITEM_DEADLINE_SECONDS", "nan", id="deadline-nan"),
    ],
)
def test_a_bad_bulk_fairness_setting_stops_with_its_name(
    tmp_path, variable: str, value: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path), variable: value})
    assert variable in str(stopped.value)


def test_the_upstream_body_limit_defaults_to_32_mib_and_reads_its_variable(tmp_path) -> None:
    default = Settings.from_env({"UNIDIR_DATA_DIR": str(tmp_path)})
    assert default.max_upstream_body_bytes == 32 * 1024 * 1024
    configured = Settings.from_env(
        {"UNIDIR_DATA_DIR": str(tmp_path), "UNIDIR_MAX_UPSTREAM_BODY_BYTES": "5000000"}
    )
    assert configured.max_upstream_body_bytes == 5_000_000


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "1e6", "lots"])
def test_an_upstream_body_limit_that_is_not_a_positive_whole_number_stops_with_its_name(
    tmp_path, value: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env(
            {"UNIDIR_DATA_DIR": str(tmp_path), "UNIDIR_MAX_UPSTREAM_BODY_BYTES": value}
        )
    assert "UNIDIR_MAX_UPSTREAM_BODY_BYTES" in str(stopped.value)
    assert value in str(stopped.value)
