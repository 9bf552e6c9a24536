"""Death-mode inhibitors ("rescue agents") by name, and spotting one in a combination well.

Used by plate-map readers that list a well's compounds without saying which is the
rescue, and by the rescue analysis to know which mode an agent blocks.
"""

from __future__ import annotations

import unicodedata

#: Known death-mode inhibitors (lower-case names and common spellings, as :func:`agent_key` writes them) -> mode.
RESCUE_AGENT_MODES = {
    "ferrostatin-1": "ferroptosis",
    "ferrostatin": "ferroptosis",
    "fer-1": "ferroptosis",
    "fer1": "ferroptosis",
    "liproxstatin-1": "ferroptosis",
    "lip-1": "ferroptosis",
    "deferoxamine": "ferroptosis",
    "dfo": "ferroptosis",
    "necrostatin-1": "necroptosis",
    "necrostatin-1s": "necroptosis",
    "nec-1": "necroptosis",
    "nec-1s": "necroptosis",
    "gsk872": "necroptosis",
    "gsk'872": "necroptosis",
    "gsk-872": "necroptosis",
    "necrosulfonamide": "necroptosis",
    "nsa": "necroptosis",
    "z-vad-fmk": "apoptosis",
    "zvad-fmk": "apoptosis",
    "z-vad": "apoptosis",
    "zvad": "apoptosis",
    "q-vd-oph": "apoptosis",
    "qvd-oph": "apoptosis",
    "emricasan": "apoptosis",
}

#: Caspase inhibitors are part of the necroptosis-inducing cocktail (TNF + SMAC mimetic + zVAD):
#: beside a component named like these they are an inducer, not a rescue.
NECROPTOSIS_COCKTAIL_PARTS = ("tnf",)

#: Characters a name may hold in place of ``-`` (minus signs, beside Unicode's dashes) and of ``'`` (typographic
#: quotes and primes, as a word processor turns ``GSK'872`` into ``GSK’872``).
_MINUS_SIGNS = "\u2212\u2796\u02d7"
_APOSTROPHES = "\u2018\u2019\u201b\u2032\u00b4\u0060"


def agent_key(name: object) -> str:
    """``name`` as :data:`RESCUE_AGENT_MODES` spells its keys: lower case, trimmed, one kind of dash and quote.

    Width and compatibility forms are folded (NFKC: full-width ``Ｆｅｒ－１``, a no-break space), every
    Unicode dash or minus (non-breaking hyphen U+2011, en dash U+2013, minus sign U+2212...) is ``-``, a
    soft hyphen is dropped and a typographic apostrophe or prime is ``'``; so ``Ferrostatin‑1`` and
    ``Fer–1`` (as word processors and Excel's autocorrect write them) are ``ferrostatin-1`` and ``fer-1``.
    """
    text = unicodedata.normalize("NFKC", str(name)).replace("\u00ad", "")
    text = "".join("-" if unicodedata.category(c) == "Pd" or c in _MINUS_SIGNS
                   else "'" if c in _APOSTROPHES else c for c in text)
    return " ".join(text.split()).casefold()


def agent_mode(name: object) -> str:
    """The death mode a known inhibitor blocks (``Ferrostatin‑1`` -> ``ferroptosis``), '' for any other name.

    The name is looked up as :func:`agent_key` writes it (case, Unicode dashes and width aside).
    """
    return RESCUE_AGENT_MODES.get(agent_key(name), "")


def rescue_agent_index(names: list[str]) -> int | None:
    """Index of the one rescue agent among a well's compounds, or None.

    A well is read as "treatment + rescue agent" when it holds at least two
    compounds and exactly one is a known death-mode inhibitor; an apoptosis
    (caspase) inhibitor next to TNF counts as part of the necroptosis cocktail. Names are
    compared as :func:`agent_key` writes them (``Fer–1`` with an en dash is ``fer-1``).
    """
    if len(names) < 2:
        return None
    lowered = [agent_key(n) for n in names]
    cocktail = any(part in n for n in lowered for part in NECROPTOSIS_COCKTAIL_PARTS)
    hits = [
        i for i, n in enumerate(lowered)
        if n in RESCUE_AGENT_MODES and not (cocktail and RESCUE_AGENT_MODES[n] == "apoptosis")
    ]  # fmt: skip
    return hits[0] if len(hits) == 1 and len(hits) < len(names) else None
