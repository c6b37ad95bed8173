"""The profile a verb runs with, chosen by --profile, SILKLINE_PROFILE or the current one."""

from __future__ import annotations

import click

from silkline.profiles import Profile, ProfileBook


def selected_profile() -> Profile:
    root = click.get_current_context().find_root().obj or {}
    return ProfileBook.load().select(root.get("profile"))
