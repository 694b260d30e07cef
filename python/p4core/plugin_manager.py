"""Compatibility: the plugin manager moved to :mod:`p4core.hooks.manager`."""

from p4core.hooks.manager import KINDS, SINGULAR, Component, PluginInfo, Plugins, get_plugins  # noqa: F401
