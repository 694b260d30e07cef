"""The command line's overrides checked before Hydra sees them: one p4core message per mistake.

Hydra answers an unknown key with "use +twin.foo=1", and following that hint gives a second, different
error. :func:`check_overrides` composes the config once first and turns the first failure into one line
that names the key, suggests the closest valid keys and lists the allowed ones. A key that a plugin's
schema has but its preset leaves out (``data.donor_key``, ``context.smoking.path`` for an installed
context source) is not a mistake: it is passed on as an addition (``+key=value``), so no ``+`` is
ever needed for a key p4core knows.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

from p4core.config import compose, group_options
from p4core.errors import InputError
from p4core.hooks.manager import Plugins, get_plugins

#: flags that make Hydra do something other than run (help, config printing, completion): left alone
RUN_FLAGS = {"-m", "--multirun"}
#: the longest override p4core takes (a longer one is a mistake, and a file name the OS refuses)
MAX_OVERRIDE = 2000
PLUGIN_SECTIONS = {"data": "sources", "knowledge": "knowledge", "context": "context", "render": "renderers"}


def check_overrides(argv: list[str], plugins: Plugins | None = None) -> list[str]:
    """``argv`` (the arguments after ``python -m p4core``) as Hydra should get them, or an
    :class:`InputError` naming the first override that cannot work and what would."""
    if any(a.startswith("-") and a not in RUN_FLAGS for a in argv):
        return argv  # --help, --cfg job, -c, --info, ...: Hydra's own business
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    plugins = plugins or get_plugins()
    argv = list(argv)
    positions = [i for i, a in enumerate(argv) if a not in RUN_FLAGS and not a.startswith("hydra")]
    for i in positions:
        if len(argv[i]) > MAX_OVERRIDE:
            raise InputError(
                f"override {argv[i][:40]}...: {len(argv[i]):,} characters, more than the {MAX_OVERRIDE:,} an "
                "override may have; put long lists in a file (e.g. simulate.treatments in a config preset)"
            )
    parser = OverridesParser.create()
    for _ in range(len(positions) + 1):
        probe: list[str] = []
        for i in positions:
            try:
                parsed = parser.parse_override(argv[i])
            except HydraException as exc:
                raise InputError(f"override {argv[i]!r}: {first_line(exc)}") from None
            probe.append(first_value(argv[i], parsed))
        try:
            compose(probe)
        except Exception as exc:  # Hydra and OmegaConf raise many types; each is explained below
            index, add = diagnose(exc, probe, plugins)
        else:
            check_additions(argv, positions, plugins)
            return argv
        item = argv[positions[index]].lstrip("+")
        argv[positions[index]] = "+" + item if add else item
    return argv


def check_additions(argv: list[str], positions: list[int], plugins: Plugins) -> None:
    """A ``+key=value`` the user wrote adds a key: only one that p4core or the plugin owning the node knows
    (Hydra would accept any and the run would ignore it)."""
    for i in positions:
        item = argv[i]
        if not item.startswith("+") or item.startswith("++"):
            continue
        key = key_of(item)
        allowed, _ = allowed_keys(key, [argv[j] for j in positions if j != i], plugins)
        if key.rsplit(".", 1)[-1] not in allowed:
            raise InputError(unknown_key_message(key, allowed))


def first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]


def first_value(item: str, parsed: Any) -> str:
    """A sweep (``a,b``, ``range(...)``) checked by its first value; other overrides as given."""
    if not parsed.is_sweep_override():
        return item
    key = item.split("=", 1)[0]
    return f"{key}={next(iter(parsed.sweep_string_iterator()))}"


def key_of(item: str) -> str:
    return item.split("=", 1)[0].lstrip("+~")


def diagnose(exc: Exception, probe: list[str], plugins: Plugins) -> tuple[int, bool]:
    """``(index, True)`` when override ``index`` is a schema key its preset leaves out (pass it on with
    ``+``), ``(index, False)`` when it has a ``+`` for a key that exists (pass it on without); else raises
    the p4core message for the failure."""
    from hydra.errors import MissingConfigException

    text = str(exc)
    if isinstance(exc, MissingConfigException) or "Could not find" in text:
        missing_preset(text)
    present = re.search(r"An item is already at '([^']+)'", text)
    if present:
        return next(i for i, o in enumerate(probe) if key_of(o) == present.group(1)), False
    found = re.search(r"Could not override '([^']+)'", text)
    merging = re.search(r"Error merging override (\S+?)=", text)
    if found:
        key = found.group(1)
        index = next(i for i, o in enumerate(probe) if key_of(o) == key)
        allowed, owner = allowed_keys(key, [o for i, o in enumerate(probe) if i != index], plugins)
        leaf = key.rsplit(".", 1)[-1]
        if owner is not None and leaf in allowed:  # a key of the plugin's schema the preset leaves out
            return index, True
        raise InputError(unknown_key_message(key, allowed))
    if merging:
        key = merging.group(1).lstrip("+~")
        cause = exc.__cause__ or exc
        reason = first_line(cause).replace("\n", " ")
        raise InputError(f"config {key}: {reason}")
    raise InputError(f"config: {first_line(exc)}")


def missing_preset(text: str) -> None:
    """Raise the message for ``group=name`` (or an item of ``group=[a,b]``) naming no preset."""
    where = re.search(r"Could not (?:find|load) '([^']+)'", text)
    options = re.findall(r"^\t(\S+)$", text.split("Config search path")[0], flags=re.MULTILINE)
    target = where.group(1) if where else "?"
    group, _, name = target.rpartition("/")
    if group and not options:  # a list's item: Hydra names no options, ask it for the group's presets
        try:
            options = group_options(group)
        except Exception:  # the message stays useful without the list
            options = []
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(f'{group}={c}' for c in close)}?" if close else ""
    choices = ", ".join(options) if options else "(none)"
    raise InputError(f"config {group}: no preset {name!r}{hint}; presets of {group}: {choices}")


def allowed_keys(key: str, others: list[str], plugins: Plugins) -> tuple[list[str], str | None]:
    """The keys valid beside ``key`` (its parent's), and the plugin owning that node (None: the core)."""
    parent, _, _ = key.rpartition(".")
    parts = parent.split(".") if parent else []
    section = parts[0] if parts else ""
    base = base_config(others)
    if section in PLUGIN_SECTIONS and len(parts) == 1 and section not in ("data", "knowledge"):
        return sorted(plugins.components[PLUGIN_SECTIONS[section]]), None  # +render.<plugin's renderer>
    if section in PLUGIN_SECTIONS and (len(parts) == 2 or section in ("data", "knowledge")):
        if section in ("data", "knowledge"):
            name = (base.get(section) or {}).get("source")
        else:
            name = parts[1]
        kind = PLUGIN_SECTIONS[section]
        if name and str(name) not in plugins.components[kind]:
            have = sorted(plugins.components[kind])
            close = difflib.get_close_matches(str(name), have, n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise InputError(
                f"config {parent}: no {section} plugin named {name!r}{hint}; installed: {', '.join(have)}"
            )
        schema = plugins.get(kind, str(name)).schema if name else None
        if schema is not None and dataclasses.is_dataclass(schema):
            return [f.name for f in dataclasses.fields(schema)], str(name)
        if name:  # a plugin without a schema owns its node: its own code checks the keys
            return [key.rpartition(".")[2]], str(name)
    from omegaconf import DictConfig

    node: Any = base
    for depth, part in enumerate(parts):  # the first segment that does not exist is the unknown key
        child = node.get(part) if isinstance(node, DictConfig) else None
        if not isinstance(child, DictConfig):
            where = ".".join(parts[:depth])
            raise InputError(
                unknown_key_message(
                    ".".join([*parts[: depth + 1]]), [str(k) for k in node.keys()], where, key
                )
            )
        node = child
    return [str(k) for k in node.keys()], None


def base_config(others: list[str]) -> Any:
    """The config with the other overrides' choices of presets (``data=h5ad``, ``context=[record]``): what
    the failing key's neighbours are (other keys may be broken too: they are checked in turn)."""
    choices = [o for o in others if "." not in key_of(o) and not o.startswith(("+", "~"))]
    try:
        return compose(choices)
    except Exception:  # a broken choice is reported on its own turn
        return compose([])


def unknown_key_message(
    key: str, allowed: list[str], parent: str | None = None, given: str | None = None
) -> str:
    """``config: unknown key K; did you mean ...?; allowed keys under P: ...`` (``given``: the override's
    whole key when ``key`` is the first unknown part of it)."""
    split_parent, _, leaf = key.rpartition(".")
    parent = split_parent if parent is None else parent
    close = difflib.get_close_matches(leaf, allowed, n=3, cutoff=0.6)
    prefix = f"{parent}." if parent else ""
    parts = [f"config: unknown key {key}" + (f" (in {given})" if given and given != key else "")]
    if close:
        parts.append(f"did you mean {' or '.join(prefix + c for c in close)}?")
    parts.append(f"allowed keys under {parent or 'the top level'}: {', '.join(allowed) or '(none)'}")
    return "; ".join(parts)
