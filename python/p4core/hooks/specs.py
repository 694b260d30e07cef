"""The hooks a p4core plugin can implement.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, made known to
p4core by an entry point in the group ``p4core``::

    # pyproject.toml of the distribution p4core-myplugin
    [project.entry-points.p4core]
    myplugin = "p4core_myplugin"

p4core's own first-party plugins (``p4core.plugins.*``) are registered exactly this way.
Plugins *register* components by calling the ``register`` argument (no return values), so a
misspelled hook or a wrong argument fails loudly instead of being ignored.

Sections: data sources, knowledge, renderers, pipeline events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from p4core.model import RunResult, TwinEnsemble

PROJECT = "p4core"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    def __call__(self, name: str, factory: Any, *, schema: type | None = None, description: str = "") -> None:
        """Register ``factory`` under ``name``; ``schema`` is a dataclass that types its config node."""


# -- data sources --------------------------------------------------------------------------------


@hookspec
def p4core_register_sources(register: Register) -> None:
    """Register data sources. Called once when the plugin manager starts.

    ``register(name, factory, schema=ConfigDataclass, description=...)``; ``factory(cfg, *,
    pseudonym_key) -> Patient`` where ``cfg`` is the ``data`` config node, already validated
    against ``schema``, and ``pseudonym_key`` (or None) keys the patient's pseudonym
    (:func:`p4core.clinical.privacy.pseudonymise`).
    Users pick a source with ``data=<config>`` whose node has ``source: <name>``.
    """


# -- patient context ---------------------------------------------------------------------------


@hookspec
def p4core_register_context(register: Register) -> None:
    """Register patient-context sources (clinical record, registers, imaging, polygenic scores, ...).

    ``factory(cfg, context, pseudonym_key) -> Context`` adds to the patient's
    :class:`~p4core.model.Context` (diagnoses, medications, observations, events, scores) and returns
    it. ``cfg`` is the node ``context.<name>``. Identifiers read from the source must be pseudonymised
    with :func:`p4core.clinical.privacy.pseudonymise` before they are stored. Users pick sources with
    ``context=[fhir,...]``; every source is optional.
    """


@hookspec
def p4core_register_scores(register: Register) -> None:
    """Register clinical scores computed from the patient context after every context source ran.

    ``factory(context) -> dict | None``: the score (any JSON-able dict), or None when the context
    lacks its inputs. Stored in ``context.scores[name]``. Built in: ``charlson`` and ``isaric4c``.
    """


# -- knowledge -----------------------------------------------------------------------------------


@hookspec
def p4core_register_knowledge(register: Register) -> None:
    """Register prior knowledge (networks and drug libraries).

    ``factory(cfg) -> Knowledge`` where ``cfg`` is the ``knowledge`` config node.
    """


# -- renderers -----------------------------------------------------------------------------------


@hookspec
def p4core_register_renderers(register: Register) -> None:
    """Register output renderers.

    ``factory(result: RunResult, outdir: Path, cfg) -> list[Path]`` writes files into ``outdir``
    (a staging folder: the pipeline moves them into the run directory only when every renderer
    has succeeded) and returns their paths. ``cfg`` is the node ``render.<name>``.
    """


# -- pipeline events -----------------------------------------------------------------------------


@hookspec
def p4core_twin_built(ensemble: TwinEnsemble, cfg: Any) -> None:
    """Called after the twin ensemble is built, before the screen; may amend it in place."""


@hookspec
def p4core_result_ready(result: RunResult, cfg: Any) -> None:
    """Called with the complete result before rendering; may add to ``result`` in place."""
