"""Small helpers DataJoint 2.x keeps in ``dj.utils``: the terminal prompt safemode uses.

:func:`user_choice` is where a confirmation is read from the terminal, through the module's
``input``, so that a script or a test can answer it, as with DataJoint, by patching
``dj.utils.input`` (or ``builtins.input``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["user_choice"]


def user_choice(prompt: str, choices: Sequence[str] = ("yes", "no"),
                default: str | None = None) -> str:
    """Ask ``prompt`` on the terminal until the answer is one of ``choices`` (any case; a
    unique beginning such as ``y`` counts). With a ``default``, an empty or unknown answer is
    the default instead of a new question. Errors of ``input`` (no stdin) pass through."""
    options = [c.lower() for c in choices]
    shown = "/".join(c.capitalize() if c == default else c for c in options)
    while True:
        answer = input(f"{prompt} [{shown}]: ").strip().lower()
        chosen = [c for c in options if answer and c.startswith(answer)]
        if answer in options:
            return answer
        if len(chosen) == 1:
            return chosen[0]
        if default is not None:
            return default
