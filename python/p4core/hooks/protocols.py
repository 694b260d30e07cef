"""The types a plugin's factories must have, one Protocol per kind of component (docs/plugins.md).

A plugin registers components by calling ``register(name, factory, ...)`` inside its registration
hook; p4core calls the factory later with the arguments below. ``cfg`` is always the component's own
config node, validated against the ``schema`` dataclass given at registration (an instance of it), or
a plain dict when the component has no schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from p4core.model import Context, Knowledge, Patient, RunResult, Sound


class SourceFactory(Protocol):
    """``data`` source: read one patient. ``pseudonym_key`` keys :func:`p4core.clinical.privacy.pseudonymise`."""

    def __call__(self, cfg: Any, *, pseudonym_key: str | None = None) -> Patient: ...


class ContextFactory(Protocol):
    """``context`` source: add to the patient's :class:`~p4core.model.Context` and return it."""

    def __call__(self, cfg: Any, context: Context, pseudonym_key: str | None = None) -> Context: ...


class ScoreFactory(Protocol):
    """Clinical score from the whole context: a JSON-able dict, or None when its inputs are missing."""

    def __call__(self, context: Context) -> dict | None: ...


class KnowledgeFactory(Protocol):
    """Prior knowledge (network and drug library) from the ``knowledge`` node."""

    def __call__(self, cfg: Any) -> Knowledge: ...


class RendererFactory(Protocol):
    """Write files into ``outdir`` (a staging folder, published as one set) and return their paths."""

    def __call__(self, result: RunResult, outdir: Path, cfg: Any) -> list[Path]: ...


class SonifierFactory(Protocol):
    """The course's sonification (score and, when ``audio``, its PCM) from the result and the config node
    ``render.<name>``."""

    def __call__(self, result: RunResult, cfg: Any, *, audio: bool) -> Sound: ...


class CommandMain(Protocol):
    """``python -m p4core <name> ARGS``: run with the arguments after the name, return the exit code."""

    def __call__(self, argv: list[str]) -> int: ...


class Register(Protocol):
    """The ``register`` argument of every registration hook.

    :param name: the component's name (what users write: ``render=[name]``, ``context=[name]``, ...).
    :param factory: the component (see the Protocols above for each kind).
    :param schema: a dataclass typing the component's config node (unknown keys and wrong types become
        clear errors before any work); None: the node is passed as a dict.
    :param description: one line for ``python -m p4core plugins``.
    :param courses: renderers only: ``courses(node) -> n``, the best n drugs whose courses it needs (the
        course stage simulates them in its batch, into ``result.trajectories.extra``).
    :param needs: renderers only: ``needs(node) -> set``, ``{"sound"}`` and/or ``{"audio"}`` when it
        needs the sonification (``result.sound``) and its audio; ``"audio:mp3"`` (or another format of
        :func:`p4core.audio.encode`) starts that encoding in the background as soon as the sound is made,
        and the renderer's ``encode`` call then takes it.
    :param last: renderers only: run after the others (a summary that reports their timings).
    :param cohort: renderers only: ``cohort(cohort_result, outdir, node) -> list[Path]`` writes the files
        of a cohort run (``data.patient=all``, :class:`~p4core.model.CohortResult`) beside the patients'
        own folders (``patients/<pseudonym>/``, which the factory renders as for any run).
    :param check: ``check(node) -> None``, raising :class:`~p4core.errors.InputError`: what can be known of
        the component's inputs without reading them (files named by the node exist, extras are installed),
        run with the config's checks before the run folder exists or any stage starts
        (:func:`p4core.hooks.input_path` checks a path).
    """

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        schema: type | None = None,
        description: str = "",
        courses: Callable[[Any], int] | None = None,
        needs: Callable[[Any], set[str]] | None = None,
        last: bool = False,
        cohort: Callable[..., Any] | None = None,
        check: Callable[[Any], None] | None = None,
    ) -> None: ...
