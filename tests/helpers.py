"""Small builders shared by the service tests."""

from __future__ import annotations

from onenet_tui.data import carrier, users
from onenet_tui.data.users import AddedUser
from tests.conftest import World, new_user_data


def add(world: World, **overrides: object) -> AddedUser:
    return users.add_user_from(world.admin, new_user_data(**overrides))


def add_active(world: World, **overrides: object) -> AddedUser:
    added = add(world, **overrides)
    carrier.set_status(world.carrier, added.user.username, "activated")
    return added
