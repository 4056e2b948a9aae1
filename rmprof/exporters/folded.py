"""Folded stacks (Brendan Gregg's collapsed format): one ``root;child;leaf weight`` line per stack.

The format has no escape mechanism: flamegraph.pl, inferno and speedscope split a line on ``;`` and take
the text after the last space as the weight. So a frame label cannot contain ``;`` or a line break;
rmprof replaces ``;`` with ``:`` and line breaks with a space (the label stays readable, the stack
structure stays right). Spaces are kept: only the last one on a line separates the weight.

A frame with a file is labelled ``name (file:line)`` as py-spy's own folded output does, so that two
functions of the same name in different files stay apart. Weights must be integers in this format:
identical stacks are merged first, then each total is rounded; stacks that round to 0 are left out.
"""

from __future__ import annotations

from rmprof.profile_model import Frame, Profile

FRAME_SEPARATOR_REPLACEMENT = ":"


def frame_label(frame: Frame) -> str:
    """The folded label of a frame: ``name``, or ``name (file:line)`` when the file is known."""
    label = frame.name
    if frame.file:
        label += f" ({frame.file}:{frame.line})" if frame.line is not None else f" ({frame.file})"
    return label.replace(";", FRAME_SEPARATOR_REPLACEMENT).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def to_folded(profile: Profile) -> str:
    """The profile as folded-stack text, one line per distinct stack, integer weights, ending with a newline."""
    labels = [frame_label(f) for f in profile.frames]
    totals: dict[str, float] = {}
    for stack, weight in zip(profile.stacks, profile.weights, strict=True):
        if not stack:
            continue  # an empty stack has no line in this format
        key = ";".join(labels[j] for j in stack)
        totals[key] = totals.get(key, 0.0) + weight
    lines = []
    for key, total in totals.items():
        count = int(total + 0.5)  # round half up; weights are non-negative
        if count > 0:
            lines.append(f"{key} {count}")
    return "".join(line + "\n" for line in lines)
