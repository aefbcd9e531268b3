"""Signed unsubscribe and preferences tokens, and the key they are signed with."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from urllib.parse import quote

import pytest

from digest.errors import DigestError
from digest.tokens import load_or_create_secret, make_token, read_token

SECRET = b"0123456789abcdef0123456789abcdef"


def test_round_trip() -> None:
    for subscriber_id in (0, 1, 42, 10**12):
        for purpose in ("unsubscribe", "preferences"):
            token = make_token(SECRET, subscriber_id, purpose)
            assert read_token(SECRET, token, purpose) == subscriber_id


def test_token_is_url_safe_and_deterministic() -> None:
    token = make_token(SECRET, 7, "unsubscribe")
    assert quote(token, safe="") == token
    assert token == make_token(SECRET, 7, "unsubscribe")
    assert token.startswith("7.")


def test_tampered_token_is_refused() -> None:
    token = make_token(SECRET, 42, "unsubscribe")
    ident, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert read_token(SECRET, f"{ident}.{flipped}", "unsubscribe") is None
    # Another member's id under this member's signature: no enumeration.
    assert read_token(SECRET, f"43.{signature}", "unsubscribe") is None
    assert read_token(SECRET, f"042.{signature}", "unsubscribe") is None
    assert read_token(SECRET, token + "x", "unsubscribe") is None
    assert read_token(SECRET, token[:-1], "unsubscribe") is None
    assert read_token(SECRET, token + "\n", "unsubscribe") is None


def test_wrong_purpose_or_key_is_refused() -> None:
    token = make_token(SECRET, 42, "unsubscribe")
    assert read_token(SECRET, token, "preferences") is None
    assert read_token(b"another key entirely, 32 bytes!!", token, "unsubscribe") is None
    assert read_token(SECRET, token, "delete-everything") is None  # type: ignore[arg-type]


@pytest.mark.parametrize("garbage", [
    "", ".", "42", "42.", ".abc", "abc.def", "-1." + "A" * 43, "٤٢." + "A" * 43,
    "1" * 40 + "." + "A" * 43, "42." + "=" * 43, None, 42, b"42.abc",
])
def test_garbage_never_raises(garbage: object) -> None:
    assert read_token(SECRET, garbage, "unsubscribe") is None  # type: ignore[arg-type]
    assert read_token(b"", make_token(SECRET, 1, "unsubscribe"), "unsubscribe") is None


def test_make_token_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        make_token(SECRET, -1, "unsubscribe")
    with pytest.raises(ValueError):
        make_token(SECRET, 1, "other")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_token(b"", 1, "unsubscribe")


def test_secret_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = load_or_create_secret(var, None)
    path = var / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 64 and bytes.fromhex(first.decode())
    assert load_or_create_secret(var, None) == first
    assert load_or_create_secret(var, "") == first  # an empty variable counts as unset
    assert sorted(p.name for p in var.iterdir()) == ["secret_key"]
    # Copying the file's text into DIGEST_SECRET_KEY keeps links valid.
    token = make_token(first, 5, "preferences")
    from_env = load_or_create_secret(tmp_path / "elsewhere", path.read_text())
    assert read_token(from_env, token, "preferences") == 5


def test_environment_value_wins(tmp_path: Path) -> None:
    value = "from the environment, 32 bytes or more"
    assert load_or_create_secret(tmp_path, value) == value.encode()
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("short", ["x", "é" * 15, "a" * 31, " " + "b" * 31 + "\n"])
def test_a_short_environment_key_is_refused(tmp_path: Path, short: str) -> None:
    with pytest.raises(DigestError, match="needs at least 32"):
        load_or_create_secret(tmp_path, short)
    assert not (tmp_path / "secret_key").exists()
    exactly = "é" * 8 + "0123456789abcdef"  # 32 bytes
    assert load_or_create_secret(tmp_path, exactly) == exactly.encode()


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o640, 0o666])
def test_a_key_file_others_can_read_is_made_private_with_a_warning(
        tmp_path: Path, mode: int, caplog: pytest.LogCaptureFixture) -> None:
    first = load_or_create_secret(tmp_path, None)
    key = tmp_path / "secret_key"
    key.chmod(mode)
    assert load_or_create_secret(tmp_path, None) == first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text and oct(mode)[2:] in caplog.text
    caplog.clear()
    load_or_create_secret(tmp_path, None)
    assert caplog.text == ""  # once repaired, silent


def test_the_key_folder_is_created_owner_only(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path / "var", None)
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700


def test_damaged_secret_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(DigestError, match="needs at least 32"):
        load_or_create_secret(tmp_path, None)
    (tmp_path / "secret_key").write_bytes(b"\xff" * 64)
    with pytest.raises(DigestError, match="not text"):
        load_or_create_secret(tmp_path, None)


def test_a_linked_key_file_is_refused_and_its_target_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared_key"
    shared.write_text(secrets.token_hex(32))
    shared.chmod(0o644)
    var = tmp_path / "var"
    var.mkdir()
    (var / "secret_key").symlink_to(shared)
    with pytest.raises(DigestError, match="not a regular file"):
        load_or_create_secret(var, None)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o644  # never chmodded through the link


@pytest.mark.parametrize("kind", ["fifo", "device link", "dangling link", "folder"])
def test_a_key_that_is_no_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    key = tmp_path / "secret_key"
    if kind == "fifo":
        os.mkfifo(key)  # would block a plain open() forever
    elif kind == "device link":
        key.symlink_to("/dev/zero")
    elif kind == "dangling link":
        key.symlink_to(tmp_path / "nowhere")
    else:
        key.mkdir()
    with pytest.raises(DigestError, match=r"not a regular file .*remove it"):
        load_or_create_secret(tmp_path, None)


def test_a_key_file_over_the_bound_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text(secrets.token_hex(4096))
    with pytest.raises(DigestError, match="over 4096 bytes"):
        load_or_create_secret(tmp_path, None)


@pytest.mark.parametrize("weak", [b"\0" * 64, b"a" * 64, b"ab" * 40, b"0123456" * 10])
def test_a_weak_key_is_refused_from_the_file_and_the_environment(tmp_path: Path,
                                                                 weak: bytes) -> None:
    (tmp_path / "secret_key").write_bytes(weak)
    with pytest.raises(DigestError, match="too weak"):
        load_or_create_secret(tmp_path, None)
    with pytest.raises(DigestError, match="DIGEST_SECRET_KEY is too weak"):
        load_or_create_secret(tmp_path / "other", weak.decode("ascii"))


def test_a_key_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    # What Python makes of DIGEST_SECRET_KEY=$(printf 'abc...\xff'): a lone surrogate.
    value = os.fsdecode(b"abcdefghijklmnopqrstuvwxyz0123456789\xff")
    with pytest.raises(DigestError, match="not valid UTF-8"):
        load_or_create_secret(tmp_path, value)


def test_an_expiring_token_works_until_its_expiry_and_not_after() -> None:
    from datetime import UTC, datetime, timedelta

    from digest.tokens import CONFIRM_LIFETIME, make_expiring_token, read_expiring_token

    now = datetime(2019, 3, 18, 7, 0, tzinfo=UTC)
    token = make_expiring_token(SECRET, 42, "confirm", now + CONFIRM_LIFETIME)
    assert quote(token, safe="") == token and token.startswith("42.")
    assert read_expiring_token(SECRET, token, "confirm", now) == 42
    assert read_expiring_token(SECRET, token, "confirm",
                               now + CONFIRM_LIFETIME - timedelta(seconds=1)) == 42
    assert read_expiring_token(SECRET, token, "confirm", now + CONFIRM_LIFETIME) is None
    ident, expiry, signature = token.split(".")
    # A later expiry, another id or another key: refused.
    assert read_expiring_token(SECRET, f"{ident}.{int(expiry) + 86400}.{signature}",
                               "confirm", now) is None
    assert read_expiring_token(SECRET, f"43.{expiry}.{signature}", "confirm", now) is None
    assert read_expiring_token(b"another-key-0123456789abcdef0123", token, "confirm",
                               now) is None
    # It is no member token, and a member token is no confirmation token.
    assert read_token(SECRET, token, "unsubscribe") is None
    assert read_token(SECRET, f"{ident}.{signature}", "preferences") is None
    assert read_expiring_token(SECRET, make_token(SECRET, 42, "preferences"), "confirm",
                               now) is None
    for bad in ("", "42", "42.1.x", "x.y.z", "42." + "9" * 13 + "." + signature):
        assert read_expiring_token(SECRET, bad, "confirm", now) is None
    with pytest.raises(ValueError):
        make_expiring_token(SECRET, 1, "confirm", datetime(2019, 3, 18))  # naive
    with pytest.raises(ValueError):
        make_expiring_token(SECRET, 1, "unsubscribe", now)  # type: ignore[arg-type]
