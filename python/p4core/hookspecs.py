"""Compatibility: the hook specifications moved to :mod:`p4core.hooks` (``from p4core.hooks import
hookimpl``); this module keeps ``from p4core.hookspecs import hookimpl`` working for plugins."""

from p4core.hooks.specs import *  # noqa: F403
from p4core.hooks.specs import PROJECT, hookimpl, hookspec  # noqa: F401
