"""Names that say a well holds a negative (non-targeting) control, as libraries and plate maps write them."""

from __future__ import annotations

import re

__all__ = ["NEG_CTRL_NAME", "is_neg_ctrl_name", "is_non_targeting_name"]

#: Negative-control names of the common short forms (siRNA screens): ``non-targeting``, ``NTC``, ``neg ctrl``,
#: ``scrambled``, ``siNT``.
NEG_CTRL_NAME = re.compile(r"^(?:.*non[\s_-]*targeting.*|ntc?|nt[\s_-]*ctrl|nc|neg[\s_-]*ctrl|negative[\s_-]*control.*|"
                           r"scrambled?(?:[\s_-].*)?|si[\s_-]?(?:nt|nc|neg|ctrl|control|scr(?:ambled?)?))$", re.I)


#: What is left of a non-targeting control's name once vendor words, ``siRNA``/``pool``/``control`` and numbers
#: are taken out (:func:`is_non_targeting_name`). No HGNC symbol reads as one of these.
#: Cores of siRNAs against reporter genes (firefly luciferase GL2/GL3, GFP): non-targeting in cells without them.
_REPORTER_CORES = frozenset({
    "luc", "luciferase", "siluc", "siluciferase", "gl", "sigl", "lucgl", "luciferasegl", "gfp", "egfp", "sigfp",
    "siegfp",
})
_CONTROL_CORES = frozenset({
    "nontargeting", "nontarget", "nonsilencing", "nt", "ntc", "nc", "negative", "neg", "scr", "scramble",
    "scrambled", "sint", "sintc", "sinc", "sineg", "sinegative", "sictrl", "sicontrol", "siscr", "siscramble",
    "siscrambled", "sinontargeting", "negctrl", "negcontrol", "sinegctrl",
}) | _REPORTER_CORES
#: Words that say an siRNA (``Control siRNA-A``: a control siRNA that names nothing else is a non-targeting one).
_SIRNA_WORDS = frozenset({"sirna", "sirnas", "dsirna", "esirna"})
#: Words a library writes around a control's core: vendors and product lines (Qiagen AllStars, Ambion Silencer
#: Select, Dharmacon ON-TARGETplus/siGENOME, Sigma MISSION), the reagent, numbering.
_CONTROL_FILLER = frozenset({
    "allstars", "silencer", "select", "on", "targetplus", "ontargetplus", "sigenome", "mission", "accell", "stealth",
    "flexitube", "lincode", "qiagen", "ambion", "dharmacon", "horizon", "sigma", "thermo", "invitrogen", "universal",
    "sirna", "sirnas", "rnai", "dsirna", "esirna", "oligo", "duplex", "pool", "smartpool", "control", "ctrl", "ctl",
    "no", "nr", "number", "med", "lo", "low", "hi", "high", "gc",
})


def is_non_targeting_name(name: object) -> bool:
    """Whether a gene name says a non-targeting (negative) control siRNA, whatever the vendor wrote around it.

    Case and punctuation aside, the name's words less vendor and product words (``AllStars``,
    ``Silencer Select``, ``ON-TARGETplus``, ``siGENOME``, ``MISSION``, ``Universal``), ``siRNA``, ``pool``,
    ``control``, ``No.`` and numbers (``#1``, ``No. 2``; a number ending a word, as in ``NT1``/``NTC2``) must
    read as one of :data:`_CONTROL_CORES` (``non-targeting``, ``negative``, ``neg``, ``NT``, ``NTC``,
    ``scr``/``scrambled``, ``siNeg``, ``siControl``...). So ``AllStars Negative Control``, ``Negative Control
    No. 2``, ``NT1``, ``NegCtrl1``, ``siGENOME Non-Targeting siRNA #2`` are controls, and gene symbols are not: a
    number inside a symbol stays (``NT5E``, ``NT5C``), and ``NTN1``, ``NTRK1``, ``SCRN1``, ``NEGR1``, ``CTRL`` read
    as no core. A last word of one letter is a variant (Santa Cruz's ``Control siRNA-A``, ``-B``), and a control
    siRNA that names nothing else (``Control siRNA-A``, ``siRNA control``) is a non-targeting one; ``Control``
    alone is not (it could be any control).

    siRNAs against reporter genes (``siLuc``, ``siGL2``/``siGL3`` against firefly luciferase, ``GFP siRNA``,
    ``siEGFP``) are read as non-targeting: labs use them so in cells that carry no luciferase or GFP
    (:func:`~ferroscreen.analysis.knockdown.call_hits` says so in a note: it does not know the cells).
    """
    core = _control_core(name)
    return core is True or core in _CONTROL_CORES


def is_reporter_control_name(name: object) -> bool:
    """Whether a gene name says an siRNA against a reporter gene (``siLuc``, ``siGL3``, ``GFP siRNA``).

    Such names are non-targeting controls to :func:`is_non_targeting_name`, true only in cells without
    the reporter.
    """
    return _control_core(name) in _REPORTER_CORES


def _control_core(name: object) -> str | bool | None:
    """What is left of a control name once vendor words and numbers are out (see :func:`is_non_targeting_name`).

    ``True`` for a control siRNA naming no gene (``Control siRNA-A``), ``None`` for no text.
    """
    if not isinstance(name, str):
        return None
    words = []
    for word in re.split(r"[^a-z0-9]+", name.strip().lower()):
        word = re.sub(r"(?<=[a-z])\d+$", "", word)  # NT1, NTC2, No1: a numbered control; NT5E keeps its 5
        if word and not word.isdigit():
            words.append(word)
    if len(words) > 1 and len(words[-1]) == 1:  # Control siRNA-A, -B: a vendor's variants
        words.pop()
    said = set(words)
    if said and said <= _CONTROL_FILLER and said & _SIRNA_WORDS and said & {"control", "ctrl", "ctl"}:
        return True  # a control siRNA naming no gene
    merged: list[str] = []
    for word in words:  # si-NT, si Neg: the si belongs to the next word
        if merged and merged[-1] == "si":
            merged[-1] += word
        else:
            merged.append(word)
    return "".join(w for w in merged if w not in _CONTROL_FILLER)


def is_neg_ctrl_name(name: object) -> bool:
    """Whether a compound or gene name says a negative control.

    It matches :data:`NEG_CTRL_NAME` or reads as one to :func:`is_non_targeting_name`.
    """
    if not isinstance(name, str):
        return False
    return bool(NEG_CTRL_NAME.match(name.strip())) or is_non_targeting_name(name)
