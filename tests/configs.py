"""The small config the end-to-end tests write around their own sources."""

from __future__ import annotations

from pathlib import Path


def write_feed_project(root: Path, sources: str, transport: str = "file") -> None:
    """``schedules.yaml`` for ``sources`` (YAML list lines), one weekly digest, members
    from ``members.csv``, and no waiting between retries."""
    (root / "schedules.yaml").write_text(f"""site:
  title: Forum
  base_url: https://forum.example.org/digest
  timezone: Europe/Brussels
  sender: {{name: Forum, address: forum@example.org}}
themes:
  cooperation: {{title: Cooperation}}
sources:
{sources}
digests:
  - {{id: weekly, title: Weekly, cron: "0 8 * * mon"}}
subscribers: {{import: members.csv}}
delivery: {{transport: {transport}}}
collect: {{backoff: 0s, timeout: 5s, deadline: 30s}}
""")
