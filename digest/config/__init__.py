"""``schedules.yaml`` → typed, validated settings, and the secrets the environment gives.

The file is refused before anything runs when anything in it is wrong, and every problem is
reported at once with the file, the line and the dotted key. Relative paths are resolved
against the file's folder. Secrets never come from the file (see ``Environment``).

The package, one job per module: ``units`` (durations, sizes, rates), ``addresses`` (hosts
and email addresses), ``schema`` (the sections' models and ``Settings``), ``locator`` (a
key's line, pydantic's errors in words), ``salvage`` (the valid pieces of a refused file),
``checks`` (what the types cannot see), ``paths``, ``environment`` and ``loading``.
"""

from digest.config.addresses import bindable_host, deliverable_address
from digest.config.checks import RESERVED_THEME_SLUGS
from digest.config.environment import (
    MIN_SECRET_BYTES,
    MIN_SECRET_DISTINCT,
    Environment,
    check_environment,
    database_url,
    secret_key_problem,
)
from digest.config.loading import MAX_CONFIG_BYTES, config_path_from, load_settings
from digest.config.schema import (
    DEFAULT_CONFIG,
    BulletinSettings,
    CollectSettings,
    Coordinator,
    DeliverySettings,
    DigestSettings,
    FeedSettings,
    Sender,
    Settings,
    Site,
    SourceSettings,
    SubscriberSettings,
    ThemeSettings,
    WebSettings,
)
from digest.config.units import (
    MAX_DURATION,
    MAX_RATE,
    MAX_SIZE,
    Duration,
    Interval,
    LanguageTag,
    Rate,
    Size,
    Wait,
    at_least,
    parse_duration,
    parse_rate,
    parse_size,
    shown,
)

__all__ = [
    "DEFAULT_CONFIG", "MAX_CONFIG_BYTES", "MAX_DURATION", "MAX_RATE", "MAX_SIZE",
    "MIN_SECRET_BYTES", "MIN_SECRET_DISTINCT", "RESERVED_THEME_SLUGS", "BulletinSettings",
    "CollectSettings", "Coordinator", "DeliverySettings", "DigestSettings", "Duration",
    "Environment", "FeedSettings", "Interval", "LanguageTag", "Rate", "Sender", "Settings",
    "Site", "Size", "SourceSettings", "SubscriberSettings", "ThemeSettings", "Wait",
    "WebSettings", "at_least", "bindable_host", "check_environment", "config_path_from",
    "database_url", "deliverable_address", "load_settings", "parse_duration", "parse_rate",
    "parse_size", "secret_key_problem", "shown",
]
