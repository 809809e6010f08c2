"""Transformer Playground: a small GPT you can train, inspect and sample from.

Notebook use::

    from playground import load_model, inspect, generate, logit_lens
    bundle = load_model("stories")
    result = inspect(bundle, "The dog saw the cat.")
    generate(bundle, "Once upon a time", max_new_tokens=40, seed=0).text
    logit_lens(bundle, "The dog saw the cat.").top_tokens    # what each layer would predict

The names below come from `playground.api` (training: `playground.run`), imported on first use
so that light modules (`playground.figures`, `playground.tokenizer`) don't pull in torch.
"""

import importlib

__all__ = [
    "Generation",
    "Inspection",
    "ModelBundle",
    "ModelConfig",
    "PlaygroundError",
    "StopConditions",
    "TrainConfig",
    "TrainingRun",
    "builtin_names",
    "generate",
    "generate_stream",
    "history_names",
    "inspect",
    "load_history",
    "load_model",
    "prepare_data",
    "train",
    # reading the model (interpretability): each from its own module
    "ablate",
    "anatomy",
    "decompose",
    "head_roles",
    "logit_lens",
    "qkv_provenance",
]

# Names defined outside `playground.api`, and their modules.
_ELSEWHERE = {
    "ablate": ".ablation",
    "anatomy": ".pipeline",
    "decompose": ".lens",
    "head_roles": ".roles",
    "logit_lens": ".lens",
    "qkv_provenance": ".pipeline",
    "StopConditions": ".run",
    "TrainingRun": ".run",
    "train": ".run",
    "ModelConfig": ".config",
    "TrainConfig": ".config",
}


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(_ELSEWHERE.get(name, ".api"), __name__), name)
    raise AttributeError(f"module 'playground' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
