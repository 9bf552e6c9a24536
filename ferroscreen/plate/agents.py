"""Death-mode inhibitors ("rescue agents") by name, and spotting one in a combination well.

Used by plate-map readers that list a well's compounds without saying which is the
rescue, and by the rescue analysis to know which mode an agent blocks.
"""

from __future__ import annotations

import re
import unicodedata

#: Known death-mode inhibitors (lower-case names and common spellings, as :func:`agent_key` writes them) -> mode.
#: Only well-established inhibitors of one death mode, each with the mode it blocks: a name here beside an
#: inducer makes a rescue well (never a pure example of the inducer's mode). Compounds screened for their own
#: activity that also chelate iron or quench radicals on the side (ciclopirox, deferiprone) are not listed.
RESCUE_AGENT_MODES = {
    # ferroptosis: radical-trapping antioxidants, iron chelators
    "ferrostatin-1": "ferroptosis",
    "ferrostatin": "ferroptosis",
    "fer-1": "ferroptosis",
    "fer1": "ferroptosis",
    "liproxstatin-1": "ferroptosis",
    "liproxstatin": "ferroptosis",
    "lip-1": "ferroptosis",
    "lip1": "ferroptosis",
    "deferoxamine": "ferroptosis",
    "desferrioxamine": "ferroptosis",
    "dfo": "ferroptosis",
    "vitamin e": "ferroptosis",
    "alpha-tocopherol": "ferroptosis",
    "α-tocopherol": "ferroptosis",
    "trolox": "ferroptosis",
    # necroptosis: RIPK1, RIPK3 and MLKL inhibitors
    "necrostatin-1": "necroptosis",
    "necrostatin-1s": "necroptosis",
    "necrostatin": "necroptosis",
    "nec-1": "necroptosis",
    "nec-1s": "necroptosis",
    "nec1": "necroptosis",
    "nec1s": "necroptosis",
    "gsk872": "necroptosis",
    "gsk'872": "necroptosis",
    "gsk-872": "necroptosis",
    "gsk963": "necroptosis",
    "gsk'963": "necroptosis",
    "gsk-963": "necroptosis",
    "necrosulfonamide": "necroptosis",
    "nsa": "necroptosis",
    # apoptosis: pan-caspase inhibitors
    "z-vad-fmk": "apoptosis",
    "z-vad(ome)-fmk": "apoptosis",
    "zvad-fmk": "apoptosis",
    "zvad(ome)-fmk": "apoptosis",
    "z-vad": "apoptosis",
    "zvad": "apoptosis",
    "q-vd-oph": "apoptosis",
    "q-vd(oph)": "apoptosis",
    "q-vd(ome)-oph": "apoptosis",
    "qvd-oph": "apoptosis",
    "q-vd": "apoptosis",
    "qvd": "apoptosis",
    "emricasan": "apoptosis",
    "idn-6556": "apoptosis",
}

#: Spellings of one inhibitor, as :func:`agent_key` writes them: each key of :data:`RESCUE_AGENT_MODES` in one
#: group. Only names of the same molecule share a group (Nec-1s, a different molecule, is not Nec-1; a bare
#: ``necrostatin`` could be either and stands alone), so a screen's ``Fer1`` and ``Ferrostatin-1`` are one agent.
SAME_AGENT = (
    ("ferrostatin-1", "ferrostatin", "fer-1", "fer1"),
    ("liproxstatin-1", "liproxstatin", "lip-1", "lip1"),
    ("deferoxamine", "desferrioxamine", "dfo"),
    ("vitamin e", "alpha-tocopherol", "α-tocopherol"),
    ("trolox",),
    ("necrostatin-1", "nec-1", "nec1"),
    ("necrostatin-1s", "nec-1s", "nec1s"),
    ("necrostatin",),
    ("gsk872", "gsk'872", "gsk-872"),
    ("gsk963", "gsk'963", "gsk-963"),
    ("necrosulfonamide", "nsa"),
    ("z-vad-fmk", "z-vad(ome)-fmk", "zvad-fmk", "zvad(ome)-fmk", "z-vad", "zvad"),
    ("q-vd-oph", "q-vd(oph)", "q-vd(ome)-oph", "qvd-oph", "q-vd", "qvd"),
    ("emricasan", "idn-6556"),
)
_AGENT_OF = {key: group[0] for group in SAME_AGENT for key in group}


def agent_identity(name: object) -> str:
    """The inhibitor a known spelling names, as its first name in :data:`SAME_AGENT` (``Fer1`` -> ``ferrostatin-1``).

    '' for a name :data:`RESCUE_AGENT_MODES` does not know: two such names are never read as one agent.
    """
    return _AGENT_OF.get(agent_key(name), "")


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


#: How a compound cell joins the drugs of a combination beyond doubt: ``A + B``, ``A & B``, ``A with B``.
_JOINED = re.compile(r"\s*[+&]\s*|\s+with\s+", re.IGNORECASE)


def uncertain_combination(compound: object) -> bool:
    """Whether ``compound`` is written as a combination (``staurosporine + Q-VD``) that is no known inducer cocktail.

    Meant for a well whose rescue agent was not found in its compound cell (:func:`rescue_agent_index`
    found none, or two): a part may still be an inhibitor :data:`RESCUE_AGENT_MODES` does not know,
    making it a rescue well whose cells mostly live, so such a reference well is no sure example of its
    mode. The necroptosis cocktail (a part named like :data:`NECROPTOSIS_COCKTAIL_PARTS`:
    ``TNF + SMAC + zVAD``) is an inducer, not this.
    """
    parts = [p for p in _JOINED.split(str(compound)) if p.strip()]
    return len(parts) > 1 and not any(part in agent_key(p) for p in parts for part in NECROPTOSIS_COCKTAIL_PARTS)
