"""Tasks made from the plays themselves, so fine-tuning stays offline and can be checked.

Each task turns the dialogue of a few plays into (instruction, input, answer) items with short
answers, a speaker's name or a play's title, so "exactly right" is a fair score. Items are
split into training and held-out ones so that no line of the plays appears in both: a held-out
score then measures what the model learned about the task, not lines it memorised.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from minigpt.training.corpus import play_titles, shakespeare_text

DEFAULT_PLAYS = ("Hamlet", "Macbeth", "Othello", "Romeo and Juliet")
MAX_LINE = 48  # characters of a spoken line in an input; longer lines are cut at a word
MAX_CHARS = 120  # prompt plus answer, so the shipped model's context of 128 always fits
BLOCK = 16  # speeches per block; every fifth block of each play is held out
INSTRUCTIONS = {
    "play": "Which play is this from?",
    "speaker": "Who speaks this line?",
    "next_speaker": "Who speaks next?",
}


@dataclass(frozen=True)
class Item:
    """One question and its answer; `lines` are the spoken lines it shows (for the split)."""

    instruction: str
    input: str
    answer: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class TaskSet:
    """A task's training and held-out items."""

    name: str
    train: tuple[Item, ...]
    heldout: tuple[Item, ...]

    @property
    def longest_answer(self) -> int:
        """Characters of the longest answer: how far generation needs to go."""
        return max(len(i.answer) for i in (*self.train, *self.heldout))

    @property
    def majority_answer(self) -> str:
        """The commonest training answer: what a model that ignores the input would say."""
        return Counter(i.answer for i in self.train).most_common(1)[0][0]

    @property
    def majority_baseline(self) -> float:
        """Held-out exact-match accuracy of always giving the majority answer."""
        return exact_match([self.majority_answer] * len(self.heldout), self.heldout)


def exact_match(answers: list[str], items: tuple[Item, ...] | list[Item]) -> float:
    """Share of answers equal to the item's answer, ignoring spaces around them.

    Example: exact_match(["ROMEO", "x"], [romeo_item, juliet_item]) == 0.5
    """
    if not items:
        return 0.0
    right = sum(a.strip() == i.answer for a, i in zip(answers, items, strict=True))
    return right / len(items)


def speeches(play: str) -> list[tuple[str, str]]:
    """(speaker, first spoken line) of every speech of a play, the line cut to MAX_LINE.

    Example: speeches("Macbeth")[0] == ("FIRST WITCH", "When shall we three meet again")
    """
    out = []
    for block in shakespeare_text([play]).split("\n\n"):
        if ":\n" in block:
            who, text = block.split(":\n", 1)
            out.append((who, _cut(text.split("\n", 1)[0])))
    return out


def _cut(line: str) -> str:
    """A line of at most MAX_LINE characters, cut at a word. Example: _cut("a b") == "a b"."""
    if len(line) <= MAX_LINE:
        return line
    return line[: line.rindex(" ", 0, MAX_LINE + 1)] if " " in line[:MAX_LINE] else line[:MAX_LINE]


def _items(task: str, play: str, talk: list[tuple[str, str]]) -> list[tuple[int, Item]]:
    """(index of the first speech it uses, item) for every item of `task` in one play."""
    ask = INSTRUCTIONS[task]
    found = []
    for k, (who, line) in enumerate(talk):
        if task == "play":
            found.append((k, Item(ask, f"{who}:\n{line}", play, (line,))))
        elif task == "speaker":
            found.append((k, Item(ask, line, who, (line,))))
        elif k + 2 < len(talk):  # next_speaker: two speeches, then who answers them
            (a, la), (b, lb) = talk[k], talk[k + 1]
            found.append((k, Item(ask, f"{a}:\n{la}\n\n{b}:\n{lb}", talk[k + 2][0], (la, lb))))
    return found


def build_task(name: str, plays: tuple[str, ...] = DEFAULT_PLAYS) -> TaskSet:
    """The items of one task over the given plays, split into training and held-out.

    Every fifth block of BLOCK speeches is held out, so held-out items come from every act.
    A training item that shares a spoken line with any held-out item ("Ay, my lord." comes
    back often) is dropped, so no line is in both.
    """
    if name not in INSTRUCTIONS:
        raise ValueError(f"unknown task {name!r}; choose from {', '.join(INSTRUCTIONS)}")
    if not plays:
        raise ValueError("pick at least one play")
    known = {t.casefold(): t for t in play_titles()}
    train, heldout = [], []
    for play in plays:
        title = known.get(play.casefold())
        if title is None:
            raise ValueError(f"no play called {play!r}")
        for k, item in _items(name, title, speeches(title)):
            if len(item.instruction) + len(item.input) + len(item.answer) + 12 > MAX_CHARS:
                continue  # with the template's newlines and "Answer: " it would not fit
            (heldout if (k // BLOCK) % 5 == 4 else train).append(item)
    held_lines = {line for item in heldout for line in item.lines}
    train = [i for i in train if not held_lines.intersection(i.lines)]
    # Shuffled (always the same way), so the first n held-out items sample every play.
    random.Random(0).shuffle(train)
    random.Random(1).shuffle(heldout)
    return TaskSet(name, tuple(train), tuple(heldout))
