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
) -> tuple[str, str | None]:
    """The channel to read and, when it was inferred from several, a note saying why.

    Args:
        channels: The acquisition's channel names.
        requested: ``--channel`` (matched exactly, else case-insensitively).
        kind: ``"label-free"`` (death-mode classifier) or ``"nuclear"`` (nuclei segmenter).
        source: What to name in messages (the acquisition folder).
        trained: The channel the model was trained on, when recorded.
        option: The setting that picks the channel, as messages name it (training: ``data.channel``).

    Raises:
        AcquisitionError: The requested channel is absent, or several channels
            remain and none (or more than one) is recognisably of ``kind``.
    """
    names = sorted({str(c) for c in channels})
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
