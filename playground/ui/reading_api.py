"""Data endpoints for reading the model: /logit_lens, /decompose, /head_roles, /ablate (JSON out).

The pages draw these as figures; programs get the numbers (gradio_client, or the HTTP API).
Each is a `gr.api` endpoint, typed by its signature, calling the library functions of
playground.lens / roles / ablation on the picked model ("My model" needs the caller's session).
"""

from __future__ import annotations

import re

import gradio as gr
import numpy as np

from ..ablation import ablate
from ..errors import PlaygroundError, register
from ..lens import decompose, logit_lens
from ..roles import ROLES, head_roles
from .state import get_bundle

DIGITS = 4  # probabilities and scores are rounded to this many decimals in JSON

register({
    "ablate.heads_text": ("write each head as L, its layer, H, its head — \"L0H1\" is layer 0, head 1 — separated by "
                          "commas, e.g. \"L0H0, L1H1\" (got {got})",
                          "每个注意力头写成 L、层号、H、头号——\"L0H1\" 表示第 0 层第 1 个头——用逗号分隔，"
                          "例如 \"L0H0, L1H1\"（收到 {got}）"),
    "ablate.mlps_text": ("write MLP blocks as layer numbers separated by commas, e.g. \"0, 1\" (got {got})",
                         "MLP 模块写成用逗号分隔的层号，例如 \"0, 1\"（收到 {got}）"),
})


def _round(values) -> list:
    return np.round(np.asarray(values, dtype=np.float64), DIGITS).tolist()


def parse_heads(value: str) -> list[tuple[int, int]]:
    """"L0H0, L1H1" -> [(0, 0), (1, 1)]; empty -> []."""
    items = [s.strip() for s in str(value or "").split(",") if s.strip()]
    heads = []
    for item in items:
        match = re.fullmatch(r"[Ll](\d{1,3})\s*[Hh](\d{1,3})", item)
        if match is None:
            raise PlaygroundError("ablate.heads_text", got=repr(item)[:40])
        heads.append((int(match[1]), int(match[2])))
    return heads


def parse_mlps(value: str) -> list[int]:
    """"0, 1" (or "MLP0, MLP1") -> [0, 1]; empty -> []."""
    items = [s.strip() for s in str(value or "").split(",") if s.strip()]
    mlps = []
    for item in items:
        match = re.fullmatch(r"(?:MLP\s*)?(\d{1,3})", item, re.I)
        if match is None:
            raise PlaygroundError("ablate.mlps_text", got=repr(item)[:40])
        mlps.append(int(match[1]))
    return mlps


def logit_lens_api(model: str, text: str) -> dict:
    """The logit lens: the top next token and its probability read out after each block, at every
    position, and the probability of the model's final prediction after each block."""
    lens = logit_lens(get_bundle(model), text)
    return {"tokens": lens.tokens, "rows": lens.rows, "top_tokens": lens.top_tokens,
            "top_probs": _round(lens.top_probs), "final_tokens": lens.final_tokens,
            "final_probs": _round(lens.final_probs)}


def decompose_api(model: str, text: str, position: int = -1) -> dict:
    """Direct logit attribution of the predicted token at `position` (-1: the last): each head's,
    each MLP block's, the embeddings' and the bias terms' share of its logit; they sum to it."""
    parts = decompose(get_bundle(model), text, position)
    return {"position": parts.position, "token": parts.token, "token_id": parts.token_id, "logit": parts.logit,
            "scale": parts.scale, "parts": dict(zip(parts.names, _round(parts.contributions)))}


def head_roles_api(model: str, text: str) -> dict:
    """Every head's score for each role (previous-token, first-token, self, local, induction) on
    the text, and its strongest role."""
    roles = head_roles(get_bundle(model), text)
    scores = {role: [[None if np.isnan(v) else round(float(v), DIGITS) for v in row] for row in roles.scores[role]]
              for role in ROLES}
    return {"roles": list(ROLES), "scores": scores, "strongest": roles.strongest,
            "strongest_score": _round(roles.strongest_score), "induction_queries": roles.induction_queries}


def ablate_api(model: str, text: str, heads: str = "", mlps: str = "", mode: str = "zero") -> dict:
    """Switch off heads ("L0H0, L1H1") and MLP blocks ("0, 1") by zero or mean ablation: the loss
    on the text and the next-token probabilities before and after."""
    bundle = get_bundle(model)
    out = ablate(bundle, text, parse_heads(heads), parse_mlps(mlps), mode)
    top = np.argsort(-out.probs_before.numpy())[:10]
    show = bundle.tokenizer.token_display
    return {"heads": [f"L{layer}H{head}" for layer, head in out.heads], "mlps": out.mlps, "mode": out.mode,
            "loss_before": round(out.loss_before, DIGITS), "loss_after": round(out.loss_after, DIGITS),
            "next_before": {show(int(i)): round(float(out.probs_before[i]), DIGITS) for i in top},
            "next_after": {show(int(i)): round(float(out.probs_after[i]), DIGITS) for i in top}}


def register_endpoints() -> None:
    """Inside `gr.Blocks`: the four named endpoints."""
    for fn, name in ((logit_lens_api, "logit_lens"), (decompose_api, "decompose"), (head_roles_api, "head_roles"),
                     (ablate_api, "ablate")):
        gr.api(fn, api_name=name, concurrency_id="reading-api", concurrency_limit=2)
