"""Hydra search-path plugin: the config presets that p4core plugins ship (``p4core_config_presets``).

Hydra imports every module under the ``hydra_plugins`` namespace when it composes a config; this one
adds, after p4core's own ``configs/``, the search path each installed p4core plugin declares, so a plugin's
``data/<preset>.yaml`` is chosen with ``data=<preset>`` like a built-in one.
"""

from __future__ import annotations

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin


class P4corePluginPresets(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if not any(e.path == "pkg://p4core.configs" for e in search_path.get_path()):
            return  # another application's config: not ours to extend
        from p4core.hooks.manager import get_plugins

        for plugin, path in get_plugins().config_presets():
            search_path.append(provider=f"p4core-plugin-{plugin}", path=path)
