"""The ShapesWorld prompt grammar: parse prompts into object clauses, and sample prompts covering all of it."""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 90, 230),
    "yellow": (240, 210, 40),
    "white": (240, 240, 240),
    "purple": (150, 60, 200),
}
BACKGROUNDS = {"black": (16, 16, 16), "gray": (100, 100, 100), "beige": (210, 190, 150)}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": 0.12, "large": 0.22}
UNNAMED_COLOUR = "white"  # the colour of an object clause that names none
MOTIONS = ("moves left", "moves right", "moves up", "moves down", "falls", "bounces", "grows", "shrinks", "stays still")

# Every word the grammar can produce: the word tokenizer's vocabulary (after "<pad>").
VOCABULARY = ["<pad>", "a", "an", "and", "on", "background", *SIZES, *COLOURS, *SHAPES, "moves", "left", "right", "up", "down",
              "falls", "bounces", "grows", "shrinks", "stays", "still", *[b for b in BACKGROUNDS if b not in COLOURS]]


@dataclass(frozen=True)
class ObjectClause:
    colour: str
    shape: str
    motion: str
    size: str = "small"


@dataclass(frozen=True)
class Prompt:
    objects: tuple[ObjectClause, ...]
    background: str = "black"
    unknown_words: tuple[str, ...] = field(default=(), compare=False)


def words_of(text: str) -> list[str]:
    """Lower-cased words; anything that is not a letter or digit separates words (as the word tokenizer does)."""
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def parse(text: str) -> Prompt:
    """Parses a prompt tolerantly: any capitalisation and spacing, unknown words ignored (and reported)."""
    words = words_of(text)
    known = set(VOCABULARY)
    unknown = tuple(w for w in words if w not in known)
    words = [w for w in words if w in known]
    background = "black"
    for i, w in enumerate(words):
        if w == "background" and i > 0 and words[i - 1] in BACKGROUNDS:
            background = words[i - 1]
            words = words[: i - 1] + words[i + 1:]
            break
    objects: list[ObjectClause] = []
    current: dict[str, str] = {}

    def close() -> None:
        if "colour" in current or "shape" in current:
            objects.append(ObjectClause(current.get("colour", UNNAMED_COLOUR), current.get("shape", "circle"),
                                        current.get("motion", "stays still"), current.get("size", "small")))
        current.clear()

    i = 0
    while i < len(words):
        w = words[i]
        if w == "and":
            close()
        elif w in SIZES:
            current["size"] = w
        elif w in COLOURS and "shape" not in current:
            current["colour"] = w
        elif w in SHAPES:
            current["shape"] = w
        elif w == "moves" and i + 1 < len(words) and words[i + 1] in ("left", "right", "up", "down"):
            current["motion"] = f"moves {words[i + 1]}"
            i += 1
        elif w == "stays" and i + 1 < len(words) and words[i + 1] == "still":
            current["motion"] = "stays still"
            i += 1
        elif w in ("falls", "bounces", "grows", "shrinks"):
            current["motion"] = w
        i += 1
    close()
    return Prompt(tuple(objects[:2]), background, unknown)


def sample_prompt(rng: random.Random) -> str:
    """A random prompt of the whole grammar: 1–2 objects of distinct colours, every size word (or none), shape,
    motion, and background phrase (or none)."""
    n = 1 if rng.random() < 0.5 else 2
    colours = rng.sample(list(COLOURS), n)
    clauses = []
    for colour in colours:
        size_word = rng.choice(["", "small", "large"])
        shape = rng.choice(SHAPES)
        motion = rng.choice(MOTIONS)
        words = ([size_word] if size_word else []) + [colour, shape]
        article = "an" if words[0][0] in "aeiou" else "a"
        clauses.append(f"{article} {' '.join(words)} {motion}")
    text = " and ".join(clauses)
    bg = rng.choice(["", "black", "gray", "beige"])
    return f"{text} on a {bg} background" if bg else text


def is_held_out(text: str) -> bool:
    """Deterministic 10 % of prompt strings never used for training: the evaluation set."""
    return hashlib.sha256(" ".join(words_of(text)).encode()).digest()[0] < 26


def sample_split(rng: random.Random, held_out: bool) -> str:
    """A prompt from the training split (held_out=False) or the evaluation split."""
    while True:
        text = sample_prompt(rng)
        if is_held_out(text) == held_out:
            return text


def held_out_prompts(count: int, seed: int) -> list[str]:
    """Distinct prompts of the evaluation split (never seen in training), the same list for the same seed."""
    rng, prompts = random.Random(seed), []
    while len(prompts) < count:
        p = sample_split(rng, held_out=True)
        if p not in prompts:
            prompts.append(p)
    return prompts


def family(prompt: Prompt) -> str:
    """The prompt family used in the model card's adherence table: the motion of the first object, and the count."""
    return f"{len(prompt.objects)} obj / {prompt.objects[0].motion}" if prompt.objects else "empty"
