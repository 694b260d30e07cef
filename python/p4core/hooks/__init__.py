"""The plugin interface: ``hookimpl`` for plugin authors, the hook specifications and the manager.

    from p4core.hooks import hookimpl, identifying

See docs/plugins.md for the contract and docs/design.md for where plugins sit.
"""

from p4core.hooks.checks import input_path
from p4core.hooks.fields import identifying, identifying_fields
from p4core.hooks.specs import PROJECT, hookimpl, hookspec

__all__ = ["PROJECT", "hookimpl", "hookspec", "identifying", "identifying_fields", "input_path"]
