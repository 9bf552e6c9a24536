"""Which channel of a multi-channel acquisition a job reads.

Incubator plates are often imaged in phase contrast plus a fluorescence channel
(IncuCyte ``phase`` + ``green`` for a Cytotox dye; Harmony ``Brightfield`` +
``Alexa 488``), and knockdown plates in Hoechst plus other stains. The death-mode
classifier reads the label-free channel and the nuclei segmenter the nuclear
stain; taking the first name alphabetically would silently feed them a
fluorescence channel (``Alexa 488`` < ``Brightfield``, ``green`` < ``phase``).

:func:`choose_channel` picks, in this order: the channel asked for; the only
channel; the channel the model was trained on; the only channel whose name
says it is of the wanted kind. Otherwise it is an error asking for
``--channel``, never a guess.

One name is read from every plate of a run. Plates of one input that name their channels
differently (an ImageXpress plate whose ``.HTD`` names them ``DAPI``/``FITC`` beside one
without, ``w1``/``w2``) are refused when the channel picked is not in each of them
(``plates``): the same name may be another stain on another plate, so each such plate is its own input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ferroscreen.errors import AcquisitionError

#: Names of label-free (transmitted-light) channels as instruments write them.
LABEL_FREE_RE = re.compile(
    r"phase|bright[\s_-]*field|\bbf\b|^bf|transmi|\btrans\b|\bdpc\b|\bdic\b|\bhmc\b|label[\s_-]*free|^tl\b|^pc$",
    re.IGNORECASE,
)
#: Names of nuclear stains (NucView is a caspase substrate, not a nuclear stain).
NUCLEAR_RE = re.compile(
    r"hoechst|\bdapi|draq5|sir[\s_-]*dna|spy[\s_-]*dna|\bh2b|nuclight|nuclear|^nuc(lei)?$", re.IGNORECASE
)

_KINDS = {
    "label-free": (LABEL_FREE_RE, "brightfield/phase"),
    "nuclear": (NUCLEAR_RE, "nuclear stain"),
}


def choose_channel(
    channels: Iterable[str],
    requested: str | None,
    kind: str,
    source: str,
    trained: str | None = None,
    option: str = "--channel",
    plates: Iterable[str] | None = None,
) -> tuple[str, str | None]:
    """The channel to read and, when it was inferred from several, a note saying why.

    Args:
        channels: The acquisition's channel names.
        requested: ``--channel`` (matched exactly, else case-insensitively).
        kind: ``"label-free"`` (death-mode classifier) or ``"nuclear"`` (nuclei segmenter).
        source: What to name in messages (the acquisition folder).
        trained: The channel the model was trained on, when recorded.
        option: The setting that picks the channel, as messages name it (training: ``data.channel``).
        plates: The plate of each of ``channels`` (the frame table's ``plate`` column beside its
            ``channel``), when the run reads several plates.

    Raises:
        AcquisitionError: The requested channel is absent, or several channels
            remain and none (or more than one) is recognisably of ``kind``, or (``plates``) a
            plate lacks the channel picked (plates that name their channels differently).
    """
    channels = [str(c) for c in channels]
    chosen = _choose(channels, requested, kind, source, trained, option)
    if plates is not None:
        _require_in_every_plate(chosen[0], channels, [str(p) for p in plates], source, option)
    return chosen


def _require_in_every_plate(chosen: str, channels: list[str], plates: list[str], source: str, option: str) -> None:
    """Refuse a channel some plate lacks (its channels named otherwise), naming that plate and one that has it.

    Raises:
        AcquisitionError: One line naming a plate without ``chosen``, its channels, and what to do.
    """
    if len(plates) != len(channels):
        raise ValueError("plates and channels differ in length")
    by_plate: dict[str, set[str]] = {}
    for plate, channel in zip(plates, channels, strict=True):
        by_plate.setdefault(plate, set()).add(channel)
    lacking = [p for p in sorted(by_plate) if chosen not in by_plate[p]]
    if not lacking or len(by_plate) < 2:
        return
    having = next(p for p in sorted(by_plate) if chosen in by_plate[p])
    more = f" (and {len(lacking) - 1} more plate(s))" if len(lacking) > 1 else ""
    raise AcquisitionError(
        f"{source}: plate {lacking[0]} has no channel '{chosen}' (its channels: "
        f"{', '.join(sorted(by_plate[lacking[0]]))}){more}, plate {having} has; its plates name their channels "
        f"differently, so no one channel holds for all: give each plate's folder as its own input ({option} "
        "picks its channel)")


def _choose(channels: list[str], requested: str | None, kind: str, source: str, trained: str | None,
            option: str) -> tuple[str, str | None]:
    """:func:`choose_channel` over the names alone."""
    names = sorted(set(channels))
    pattern, what = _KINDS[kind]
    if requested is not None:
        if requested in names:
            return requested, None
        folded = [n for n in names if n.casefold() == requested.casefold()]
        if len(folded) == 1:
            return folded[0], None
        raise AcquisitionError(f"{source}: no channel '{requested}' (found {', '.join(names)})")
    if len(names) == 1:
        return names[0], None
    if trained is not None:
        same = [n for n in names if n.casefold() == str(trained).casefold()]
        if len(same) == 1:
            return same[0], f"channel '{same[0]}' (the model was trained on it) of {', '.join(names)}"
    matches = [n for n in names if pattern.search(n)]
    if len(matches) == 1:
        return matches[0], f"channel '{matches[0]}' (the {what}) of {', '.join(names)}; {option} picks another"
    raise AcquisitionError(
        f"{source}: {len(names)} channels ({', '.join(names)}) and "
        + ("none" if not matches else "more than one")
        + f" is recognisably the {what}; pick it with {option}"
    )
