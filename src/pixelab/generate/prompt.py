"""Prompts for class-conditional generators: "an ankle boot" becomes the class a model was
trained on. A model trained on labelled images knows only its classes, so a prompt is matched
to one of them (exactly, through plurals and synonyms, or by spelling) and the words it could
not use are reported rather than dropped in silence: the honest, small version of the text
encoder that steers Stable Diffusion."""

from __future__ import annotations

import dataclasses
import re

from pixelab._core.errors import PixelabError

#: Words that carry no class: articles, "a photo of", politeness.
FILLER = frozenset({
    "a", "an", "the", "of", "some", "photo", "picture", "image", "drawing", "draw",
    "make", "me", "please", "show", "generate", "create", "give", "with", "in", "and",
})  # fmt: skip
#: Digits in words, for data whose classes are digits.
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Other words for classes of the built-in data (lower case), keyed by the class name.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "t-shirt/top": ("tshirt", "t shirt", "tee", "tee shirt", "top", "t-shirt"),
    "trouser": ("pants", "trousers", "jeans", "slacks"),
    "pullover": ("sweater", "jumper", "hoodie", "sweatshirt"),
    "dress": ("gown", "frock"),
    "coat": ("jacket", "parka", "overcoat"),
    "sandal": ("flip flop", "flip-flop", "slipper"),
    "shirt": ("blouse", "button-down"),
    "sneaker": ("trainer", "running shoe", "shoe", "sports shoe"),
    "bag": ("handbag", "purse", "backpack", "tote"),
    "ankle boot": ("boot", "bootie", "booty"),
    "circle": ("disc", "disk", "ring", "round"),
    "square": ("box", "rectangle"),
    "crescent": ("moon", "crescent moon"),
    "cross": ("plus", "x"),
    **{str(i): (w,) for i, w in enumerate(NUMBERS)},
}
#: Lowest spelling similarity (0-1) that still counts as a match: "sandle" is 0.83 alike
#: "sandal", "banana" 0.5.
NEAREST_MIN = 0.7


@dataclasses.dataclass(frozen=True)
class PromptMatch:
    """The class a prompt asks for, how it was found (exact, synonym, plural, nearest) with the
    spelling similarity for "nearest", and the prompt's words that did not name it."""

    index: int
    name: str
    how: str
    similarity: float
    unused: tuple[str, ...]

    def describe(self) -> str:
        """One line for the console: what was understood and what was not."""
        how = {"exact": "the class name", "plural": "a plural of the class name",
               "synonym": "another word for it",
               "nearest": f"the closest spelling ({self.similarity:.2f} alike)"}[self.how]  # fmt: skip
        line = f'prompt -> class "{self.name}" ({how})'
        if self.unused:
            line += "; not used (this model knows only its classes): " + ", ".join(self.unused)
        return line


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:[-'][a-z0-9]+)*", text.lower())


def _singular(word: str) -> str:
    for end, new in (("ies", "y"), ("ses", "s"), ("shes", "sh"), ("ches", "ch"), ("s", "")):
        if word.endswith(end) and len(word) > len(end) + 2 and not word.endswith("ss"):
            return word[: -len(end)] + new
    return word


def _names(cls: str) -> list[tuple[list[str], str]]:
    """Word sequences that name ``cls`` and how: its name, the parts of "a/b" names, synonyms."""
    low = cls.lower()
    out = [(_words(low), "exact")]
    out += [(_words(part), "exact") for part in low.split("/") if "/" in low]
    out += [(_words(s), "synonym") for s in SYNONYMS.get(low, ())]
    return [(w, how) for w, how in out if w]


def _find(seq: list[str], words: list[str]) -> int:
    for i in range(len(words) - len(seq) + 1):
        if words[i : i + len(seq)] == seq:
            return i
    return -1


def similarity(a: str, b: str) -> float:
    """How alike two spellings are (0-1): twice the characters they share in order over the
    characters of both (Ratcliff-Obershelp, Python's difflib)."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a.lower(), b.lower()).ratio()


def match_prompt(prompt: str, classes: list[str]) -> PromptMatch:
    """The class of ``classes`` that ``prompt`` asks for. A class named in the prompt (longest
    name first, plurals folded) wins; then a synonym; then the closest spelling of one word.
    A prompt naming two classes, or none, is refused with the list of classes."""
    words = [w for w in _words(prompt) if w not in FILLER]
    if not words:
        raise PixelabError(f"the prompt {prompt!r} names nothing",
                           hint="name one of the classes: " + ", ".join(classes))  # fmt: skip
    singular = [_singular(w) for w in words]
    found: dict[int, tuple[int, str, list[int]]] = {}  # class -> (length, how, word positions)
    for k, cls in enumerate(classes):
        for seq, how in _names(cls):
            for text, fold in ((words, ""), (singular, "plural")):
                at = _find([_singular(w) for w in seq] if fold else seq, text)
                if at < 0:
                    continue
                how_here = "plural" if (fold and text[at : at + len(seq)] != words[at : at + len(seq)]
                                        and how == "exact") else how  # fmt: skip
                best = found.get(k)
                if best is None or len(seq) > best[0]:
                    found[k] = (len(seq), how_here, list(range(at, at + len(seq))))
                break
    if found:
        # a longer name covers a shorter one inside it ("ankle boot" over "boot")
        longest = max(v[0] for v in found.values())
        top = {k: v for k, v in found.items() if v[0] == longest}
        covered = set().union(*(set(v[2]) for v in top.values()))
        rest = {k: v for k, v in found.items() if k not in top and not set(v[2]) <= covered}
        if len(top) + len(rest) > 1:
            named = ", ".join(classes[k] for k in [*top, *rest])
            raise PixelabError(f"the prompt {prompt!r} names more than one class ({named})",
                               hint="a class-conditional model makes one class at a time")  # fmt: skip
        k, (_, how, at) = next(iter(top.items()))
        unused = tuple(w for i, w in enumerate(words) if i not in at)
        return PromptMatch(k, classes[k], how, 1.0, unused)
    best_k, best_s, best_i = -1, 0.0, -1
    for i, w in enumerate(words):
        for k, cls in enumerate(classes):
            for seq, _ in _names(cls):
                s = similarity(w, " ".join(seq))
                if s > best_s:
                    best_k, best_s, best_i = k, s, i
    if best_s >= NEAREST_MIN:
        unused = tuple(w for i, w in enumerate(words) if i != best_i)
        return PromptMatch(best_k, classes[best_k], "nearest", round(best_s, 3), unused)
    raise PixelabError(f"the prompt {prompt!r} matches none of this model's classes",
                       hint="it knows: " + ", ".join(classes))  # fmt: skip


#: Words for attribute values of the built-in attribute scenes, keyed by value (lower case).
ATTRIBUTE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "red": ("crimson", "scarlet"), "yellow": ("gold", "golden"), "green": ("lime",),
    "blue": ("azure", "navy"), "purple": ("violet", "magenta", "lilac"),
    "small": ("tiny", "little", "mini", "smaller"), "large": ("big", "huge", "giant", "larger"),
    "centre": ("center", "middle"),
}  # fmt: skip
#: Words folded into others before matching positions: "upper left" is "top left".
WORD_FORMS = {"upper": "top", "lower": "bottom", "center": "centre", "middle": "centre"}
#: Words that place or link but name no value ("a star at the top left corner").
PLACING = frozenset({"at", "on", "to", "corner", "side", "placed", "located", "sitting", "near",
                     "is", "that", "which", "coloured", "colored", "sized", "one"})  # fmt: skip


@dataclasses.dataclass(frozen=True)
class AttributeMatch:
    """What a prompt asks of a model conditioned on several attributes: per attribute the
    index of the value named (None: not named, left to the model), how each was found, and
    the prompt's words that named nothing it knows."""

    values: dict[str, int | None]
    names: dict[str, str]
    how: dict[str, str]
    unused: tuple[str, ...]

    def describe(self) -> str:
        """One line for the console: what was understood and what was not."""
        said = [f"{a} {self.names[a]}" + ("" if self.how[a] == "exact" else f" ({self.how[a]})")
                for a in self.values if a in self.names]  # fmt: skip
        free = [a for a, v in self.values.items() if v is None]
        line = "prompt -> " + ", ".join(said)
        if free:
            line += "; left to the model: " + ", ".join(free)
        if self.unused:
            line += "; not used (this model knows no such word): " + ", ".join(self.unused)
        return line


def _value_names(attribute: str, value: str) -> list[tuple[list[str], str]]:
    """Word sequences that name ``value``: itself, its synonyms, and (for a place of two
    words) the two words the other way round ("left top")."""
    out = _names(value)
    out += [(_words(s), "synonym") for s in ATTRIBUTE_SYNONYMS.get(value.lower(), ())]
    if attribute == "position" and len(_words(value)) == 2:
        out.append((_words(value)[::-1], "synonym"))
    return [([WORD_FORMS.get(w, w) for w in seq], how) for seq, how in out]


def match_attributes(prompt: str, values: dict[str, list[str]]) -> AttributeMatch:
    """The value of each attribute (e.g. shape, colour, size, position: ``values`` lists
    each one's values) that ``prompt`` names. Longer names are found first ("top left" before
    "top"), plurals are folded, a misspelt word goes to the closest spelling; a prompt naming
    two values of one attribute, or nothing at all, is refused with what the model knows."""
    words = [WORD_FORMS.get(w, w) for w in _words(prompt) if w not in FILLER | PLACING]
    words = [_singular(w) if w not in ("cross",) else w for w in words]
    listing = "; ".join(f"{a}: {', '.join(v)}" for a, v in values.items())
    if not words:
        raise PixelabError(f"the prompt {prompt!r} names nothing", hint="it knows " + listing)
    names = sorted(((seq, how, a, k) for a, vals in values.items() for k, v in enumerate(vals)
                    for seq, how in _value_names(a, v)),
                   key=lambda item: -len(item[0]))  # fmt: skip
    chosen: dict[str, int] = {}
    how: dict[str, str] = {}
    covered: set[int] = set()

    def take(a: str, k: int, found: str, at: list[int]) -> None:
        if a in chosen and chosen[a] != k:
            raise PixelabError(f"the prompt {prompt!r} names two of {a} "
                               f"({values[a][chosen[a]]}, {values[a][k]})",
                               hint=f"a picture has one {a}")  # fmt: skip
        chosen[a], how[a] = k, how.get(a, found)
        covered.update(at)

    for seq, found, a, k in names:
        seq = [_singular(w) if w != "cross" else w for w in seq]
        for i in range(len(words) - len(seq) + 1):
            at = list(range(i, i + len(seq)))
            if words[i : i + len(seq)] == seq and not covered & set(at):
                take(a, k, found, at)
    for i, w in enumerate(words):  # the rest: the closest spelling of a one-word name
        if i in covered or len(w) < 3:
            continue
        best = max(((similarity(w, seq[0]), a, k) for seq, _, a, k in names if len(seq) == 1),
                   default=(0.0, "", -1))  # fmt: skip
        if best[0] >= NEAREST_MIN and best[1] not in chosen:
            take(best[1], best[2], f"nearest, {best[0]:.2f} alike", [i])
    if not chosen:
        raise PixelabError(f"the prompt {prompt!r} names nothing this model knows",
                           hint="it knows " + listing)  # fmt: skip
    unused = tuple(w for i, w in enumerate(words) if i not in covered)
    return AttributeMatch(
        values={a: chosen.get(a) for a in values},
        names={a: values[a][chosen[a]] for a in values if a in chosen},
        how={a: how[a] for a in values if a in how}, unused=unused,
    )  # fmt: skip
