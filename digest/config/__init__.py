"""``schedules.yaml`` → typed, validated settings, and the secrets the environment gives.

The file is refused before anything runs when anything in it is wrong, and every problem is
reported at once with the file, the line and the dotted key. Relative paths are resolved
against the file's folder. Secrets never come from the file (see ``Environment``).

The package, one job per module: ``units`` (durations, sizes, rates), ``addresses`` (hosts
and email addresses), ``schema`` (the sections' models and ``Settings``), ``locator`` (a
key's line, pydantic's errors in words), ``salvage`` (the valid pieces of a refused file),
``checks`` (what the types cannot see), ``paths``, ``environment``, ``loading``, and
``bulletin_meta`` (a bulletin's front matter, checked and located the same way).
"""

# The names the rest of the product imports from ``digest.config``.
from digest.config.addresses import deliverable_address
from digest.config.checks import RESERVED_THEME_SLUGS
from digest.config.environment import (
    MIN_SECRET_BYTES,
    Environment,
    check_environment,
    database_url,
    secret_key_problem,
)
from digest.config.loading import MAX_CONFIG_BYTES, config_path_from, load_settings
from digest.config.schema import (
    CollectSettings,
    DigestSettings,
    Settings,
    SourceSettings,
    ThemeSettings,
)

__all__ = [
    "MAX_CONFIG_BYTES", "MIN_SECRET_BYTES", "RESERVED_THEME_SLUGS", "CollectSettings",
    "DigestSettings", "Environment", "Settings", "SourceSettings", "ThemeSettings",
    "check_environment", "config_path_from", "database_url", "deliverable_address",
    "load_settings", "secret_key_problem",
]
