"""Which model a request means. Shared read-only models are cached once per process."""

from __future__ import annotations

from .. import api


def model_choices() -> list[str]:
    """Names for the model picker: the shipped checkpoints, or the random demo model."""
    return api.builtin_names() or [api.DEMO_MODEL]


def get_bundle(name: str | None) -> api.ModelBundle:
    """The model called `name` (default: the first choice); unknown names list the valid ones."""
    name = name or model_choices()[0]
    if name == api.DEMO_MODEL:
        return api.demo_model()
    if name not in api.builtin_names():
        raise api.PlaygroundError(f"unknown model {name!r}; choose one of {model_choices()}")
    return api.load_model(name)
