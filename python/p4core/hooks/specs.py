"""The hooks a p4core plugin can implement.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, made known to
p4core by an entry point in the group ``p4core``::

    # pyproject.toml of the distribution p4core-myplugin
    [project.entry-points.p4core]
    myplugin = "p4core_myplugin"

p4core's own first-party plugins (``p4core.plugins.*``) are registered exactly this way.

**Registration hooks** (``p4core_register_*``) are called once per plugin when the plugin manager
starts (``p4core.hooks.manager.get_plugins``), in the order of the entry points' names, each through
pluggy's own hook call (``P4CORE_TRACE_PLUGINS=1`` logs them). A plugin registers components by
calling ``register`` (:class:`~p4core.hooks.protocols.Register`); it returns nothing, so a misspelled
hook or argument fails loudly instead of being ignored. A registration hook that raises marks its
plugin BROKEN (``python -m p4core plugins`` says why); the other plugins still load.

**Pipeline events** (``p4core_twin_built``, ``p4core_result_ready``) are called once per run, each
implementation on its own: one that raises is named in a warning and left out, the run goes on.

**What plugins see**: ``cfg`` is always the *redacted* run config (the same as ``config_resolved.yaml``),
never the raw one: every value that a component's schema marks with :func:`p4core.hooks.identifying`
(paths of patient data, identifiers, sample names, the patient's id, keys) is replaced. Mark your own
schema's identifying fields the same way: the core keeps no list of names. A component's factory gets
its own validated node, with the real values it needs to read.

**When a component raises**: an :class:`~p4core.errors.InputError` (bad input the plugin found) stops
the run with its message; anything else is a bug in the plugin: a score is left out with a warning; a
context source, or a renderer the user named, stops the run with the plugin named; a renderer only in
the config's default list is left out with a warning.

Sections: data sources, patient context, knowledge, renderers and sound, commands, config presets,
pipeline events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from p4core.hooks.protocols import Register

if TYPE_CHECKING:
    from p4core.model import RunResult, TwinEnsemble

PROJECT = "p4core"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "Register", "hookimpl", "hookspec"]


# -- data sources --------------------------------------------------------------------------------


@hookspec
def p4core_register_sources(register: Register) -> None:
    """Register data sources (:class:`~p4core.hooks.protocols.SourceFactory`).

    :param register: ``register(name, factory, schema=..., description=...)``; ``factory(cfg, *,
        pseudonym_key) -> Patient``, ``cfg`` the ``data`` node. Users pick a source with ``data=<preset>``
        whose node has ``source: <name>``. :func:`p4core.io.patient_from_anndata` turns any AnnData into
        a checked :class:`~p4core.model.Patient`, so a source for a new format is a few lines.
    """


# -- patient context ---------------------------------------------------------------------------


@hookspec
def p4core_register_context(register: Register) -> None:
    """Register patient-context sources: clinical record, registers, imaging, polygenic scores, ...
    (:class:`~p4core.hooks.protocols.ContextFactory`).

    :param register: ``factory(cfg, context, pseudonym_key) -> Context`` adds to the patient's
        :class:`~p4core.model.Context` (diagnoses, medications, observations, events, scores) and returns
        it; ``cfg`` is the node ``context.<name>``. Called in the order of ``context=[...]``, after the
        data source. Identifiers read from the source go through
        :func:`p4core.clinical.privacy.pseudonymise` before they are stored; dates and ages through
        :mod:`p4core.clinical.checks`. Users pick sources with ``context=[fhir,...]``.
    """


@hookspec
def p4core_register_scores(register: Register) -> None:
    """Register clinical scores, computed from the whole context after every context source ran
    (:class:`~p4core.hooks.protocols.ScoreFactory`).

    :param register: ``factory(context) -> dict | None``: the score (any JSON-able dict), or None when
        the context lacks its inputs; stored in ``context.scores[name]``. Built in: ``charlson`` and
        ``isaric4c``. A score that raises is left out with a warning.
    """


# -- knowledge -----------------------------------------------------------------------------------


@hookspec
def p4core_register_knowledge(register: Register) -> None:
    """Register prior knowledge: networks and drug libraries (:class:`~p4core.hooks.protocols.KnowledgeFactory`).

    :param register: ``factory(cfg) -> Knowledge``, ``cfg`` the ``knowledge`` node. Users pick it with
        ``knowledge=<preset>`` whose node has ``source: <name>``.
    """


# -- renderers and sound --------------------------------------------------------------------------


@hookspec
def p4core_register_renderers(register: Register) -> None:
    """Register output renderers (:class:`~p4core.hooks.protocols.RendererFactory`).

    :param register: ``factory(result, outdir, cfg) -> list[Path]`` writes files into ``outdir`` (a
        staging folder: the run directory receives every file of the run, or none) and returns their
        paths; ``cfg`` is the node ``render.<name>``. Renderers only render: what they show is in
        ``result`` (courses of more drugs: ``courses=``; the sonification: ``needs=``), never in another
        renderer's files. Called in the order of ``render=[...]``, those registered ``last=True`` after
        the others.
    """


@hookspec
def p4core_register_sonifiers(register: Register) -> None:
    """Register the sonification of the disease course (:class:`~p4core.hooks.protocols.SonifierFactory`).

    :param register: ``factory(result, cfg, *, audio) -> Sound``; called once per run, after the course
        and before the renderers, when an active renderer ``needs`` the sound; ``cfg`` is the node
        ``render.<name>`` (defaults when absent). Built in: ``midi`` (the MIDI renderer's score).
    """


# -- commands -----------------------------------------------------------------------------------


@hookspec
def p4core_register_commands(register: Register) -> None:
    """Register command-line sub-commands (:class:`~p4core.hooks.protocols.CommandMain`).

    :param register: ``register(name, main, description=...)``: ``python -m p4core <name> ARGS`` calls
        ``main(ARGS) -> exit code``. Built in: ``midi`` (lint, decode, play, wav).
    """


# -- config presets ------------------------------------------------------------------------------


@hookspec
def p4core_config_presets() -> str | list[str] | None:
    """Where the plugin's own config presets are: a Hydra search path (``pkg://my_plugin.configs`` or
    ``file:///abs/path``) or a list of them, laid out like p4core's ``configs/`` (``data/<preset>.yaml``,
    ``knowledge/<preset>.yaml``, ``render/<name>.yaml``, ...).

    Called when Hydra composes a config (``python -m p4core`` and :func:`p4core.compose`), through p4core's
    search-path plugin (``hydra_plugins.p4core_presets``): a user then picks ``data=<preset>`` shipped by
    the plugin, without editing p4core's ``configs/``. p4core's own presets come first, so a plugin cannot
    shadow them; a plugin whose hook raises is named in a warning and its presets are left out.

    :returns: the search path(s), or None for none.
    """


# -- pipeline events -----------------------------------------------------------------------------


@hookspec
def p4core_twin_built(ensemble: TwinEnsemble, cfg: Any) -> None:
    """Called once per run after the twin ensemble is built, before the screen.

    :param ensemble: the ensemble; may be amended in place (e.g. a site's extra edges).
    :param cfg: the redacted run config (a DictConfig).
    """


@hookspec
def p4core_result_ready(result: RunResult, cfg: Any) -> None:
    """Called once per run with the complete result, before the sound and the renderers.

    :param result: the run's result; may be added to in place (``result.config`` is redacted too).
    :param cfg: the redacted run config (a DictConfig).
    """
