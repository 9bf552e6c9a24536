"""Death-mode inhibitors ("rescue agents") by name, and spotting one in a combination well.

Used by plate-map readers that list a well's compounds without saying which is the
rescue, and by the rescue analysis to know which mode an agent blocks.
"""

from __future__ import annotations

#: Known death-mode inhibitors (lower-case names and common spellings) -> mode.
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


def rescue_agent_index(names: list[str]) -> int | None:
    """Index of the one rescue agent among a well's compounds, or None.

    A well is read as "treatment + rescue agent" when it holds at least two
    compounds and exactly one is a known death-mode inhibitor; an apoptosis
    (caspase) inhibitor next to TNF counts as part of the necroptosis cocktail.
    """
    if len(names) < 2:
        return None
    lowered = [str(n).strip().lower() for n in names]
    cocktail = any(part in n for n in lowered for part in NECROPTOSIS_COCKTAIL_PARTS)
    hits = [
        i for i, n in enumerate(lowered)
        if n in RESCUE_AGENT_MODES and not (cocktail and RESCUE_AGENT_MODES[n] == "apoptosis")
    ]  # fmt: skip
    return hits[0] if len(hits) == 1 and len(hits) < len(names) else None
