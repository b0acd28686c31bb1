"""SIGMA_BUDGET_REFILL_PER_S / SIGMA_BUDGET_BURST (perf2): per-audience values merged over the
defaults; a malformed value names the variable (like test_bad_settings_name_the_variable)."""

from __future__ import annotations

import pytest

from sigma_graphql.core.settings import Settings, SettingsError, load_settings


def test_budget_variables_override_named_audiences_only() -> None:
    s = load_settings(
        {"SIGMA_BUDGET_REFILL_PER_S": "PUBLIC=2.5, pejabat=100", "SIGMA_BUDGET_BURST": "ADMIN=7"}
    )
    defaults = Settings()
    assert s.budget_refill_per_s == {
        **defaults.budget_refill_per_s,
        "PUBLIC": 2.5,
        "PEJABAT": 100.0,
    }
    assert s.budget_burst == {**defaults.budget_burst, "ADMIN": 7}
    assert load_settings({}).budget_burst == defaults.budget_burst


@pytest.mark.parametrize(
    ("var", "raw"),
    [
        ("SIGMA_BUDGET_REFILL_PER_S", "PUBLIC"),
        ("SIGMA_BUDGET_REFILL_PER_S", "PUBLIC=fast"),
        ("SIGMA_BUDGET_REFILL_PER_S", "PUBLIC=-1"),
        ("SIGMA_BUDGET_REFILL_PER_S", "GUEST=10"),
        ("SIGMA_BUDGET_REFILL_PER_S", ","),
        ("SIGMA_BUDGET_BURST", "ADMIN=1.5"),
        ("SIGMA_BUDGET_BURST", "ADMIN=0"),
        ("SIGMA_BUDGET_BURST", "ADMIN=5,ADMIN=6"),
    ],
)
def test_bad_budget_settings_name_the_variable(var: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=var):
        load_settings({var: raw})
