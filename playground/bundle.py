"""`ModelBundle`: a GPT with its tokenizer and provenance — what every loader returns.

It has a module of its own because both the notebook API (api.py) and the Hub loader (hub.py)
build bundles, and api.py resolves names through hub.py: with the class in api.py, hub.py had
to import api.py back (an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import ModelConfig
from .model import TinyGPT
from .tokenizer import Tokenizer


@dataclass
class ModelBundle:
    """A model with everything needed to use it: tokenizer, config and provenance."""

    name: str
    model: TinyGPT
    tokenizer: Tokenizer
    meta: dict = field(default_factory=dict)
    card: dict | None = None
    trained: bool = True  # False only for the seeded random demo model

    @property
    def config(self) -> ModelConfig:
        return self.model.cfg
