"""The plugin interface: ``hookimpl`` for plugin authors, the hook specifications and the manager.

    from p4core.hooks import hookimpl

See docs/plugins.md for the contract and docs/design.md for where plugins sit.
"""

from p4core.hooks.specs import PROJECT, hookimpl, hookspec

__all__ = ["PROJECT", "hookimpl", "hookspec"]
