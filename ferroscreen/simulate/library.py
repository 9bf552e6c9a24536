"""Compound libraries for the simulator: compounds, rescue agents and plate maps.

A library is a YAML file (the demo library ships as ``demo_library.yaml`` beside
this module; ``docs/simulator.md`` documents every key)::

    name: my-library
    vehicle: DMSO
    compounds:
      volasertib:
        modes: {ferroptosis: 1.0}     # death-mode mixture (weights are normalised)
        emax: 0.95                    # fraction of cells that die at saturating dose
        ec50: 3.0e-8                  # molar
        hill: 1.5
        onset_h: 6                    # lag between dosing and the first deaths
        rate_per_h: 0.12              # how fast committed cells die after the lag
    rescue_agents:
      Fer-1: {blocks: ferroptosis, efficacy: 0.95}
    plate_maps:
      "96":
        - {compound: DMSO, role: vehicle, wells: 8}
        - {compound: volasertib, role: sample, doses: {top: 1.0e-5, dilution: 3.16, n: 8}}

Concentrations are molar numbers (``1e-5`` or ``1.0e-5``) or text with a unit (``10 uM``,
``30 nM``; M, mM, uM/µM, nM, pM, fM); 1 M or more is refused as a unit slip. ``*.json`` files
are read as JSON. YAML is read with YAML 1.2 scalars: names such as ``NO``, ``on``, ``0123``
stay text, and a key given twice is refused.

Every validation failure raises :class:`LibraryError` whose one-line message names
the file and the key path of the problem.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ferroscreen.errors import FerroscreenError, WellError
from ferroscreen.plate import PlateFormat
from ferroscreen.plate.units import MOLAR_DIVISORS, molar_unit, split_value_unit, to_molar

#: Death modes the simulator renders.
DEATH_MODES = ("apoptosis", "ferroptosis", "necroptosis")
#: Truth classes: ``alive`` plus the death modes.
CLASSES = ("alive", *DEATH_MODES)

DEMO_LIBRARY_PATH = Path(__file__).with_name("demo_library.yaml")

_ROLES = ("sample", "vehicle", "reference", "rescue", "empty", "pos_ctrl", "neg_ctrl")


class LibraryError(FerroscreenError, ValueError):
    """A simulator library file that cannot be read or fails validation."""


@dataclass(frozen=True)
class Compound:
    """Pharmacology of one compound (or fixed combination such as TSZ).

    Attributes:
        name: Name written to the layout.
        modes: Death-mode mixture, weights summing to 1 (empty for inactive or
            purely cytostatic compounds).
        emax: Fraction of cells committed to death at saturating dose, in [0, 1].
        ec50: Half-maximal concentration in molar.
        hill: Hill slope (> 0).
        onset_h: Lag in hours between dosing and the earliest compound deaths.
        rate_per_h: Rate (1/h) at which committed cells die after the lag at
            saturating dose; lower doses are slower (see ``pharmacology``).
        growth_inhibition: Maximal fractional reduction of the division rate, in
            [0, 1) (cytostatic effect).
        gi50: Molar concentration of half-maximal growth inhibition (defaults to
            ``ec50``).
        description: Free text (written to ``truth.json``).
    """

    name: str
    modes: dict[str, float] = field(default_factory=dict)
    emax: float = 0.0
    ec50: float = 1e-6
    hill: float = 1.0
    onset_h: float = 6.0
    rate_per_h: float = 0.1
    growth_inhibition: float = 0.0
    gi50: float | None = None
    description: str = ""

    def to_dict(self) -> dict:
        """JSON-ready parameters."""
        return asdict(self)


@dataclass(frozen=True)
class RescueAgent:
    """An inhibitor that blocks one death mode.

    Attributes:
        name: Name written to the layout's ``rescue_agent`` column.
        blocks: The death mode it blocks.
        efficacy: Probability that a cell committed to that mode is spared, in [0, 1] (at full
            occupancy when ``ic50`` is given).
        concentration: Default molar concentration used in rescue wells.
        ic50: Molar concentration that spares half of ``efficacy`` (``efficacy · c^h / (c^h +
            IC50^h)`` at the well's rescue concentration ``c``); ``None``: ``efficacy`` at any
            concentration.
        hill: Hill slope of that dose response (> 0).
    """

    name: str
    blocks: str
    efficacy: float = 0.9
    concentration: float = 1e-6
    ic50: float | None = None
    hill: float = 1.0

    def to_dict(self) -> dict:
        """JSON-ready parameters: every attribute but ``name`` (``ic50`` ``None`` when not given)."""
        d = asdict(self)
        d.pop("name")
        return d


@dataclass(frozen=True)
class Treatment:
    """One plate-map entry: what goes into a set of wells.

    Attributes:
        compound: Compound name (or the vehicle name); empty for empty wells.
        role: Layout role.
        concentrations: Molar concentrations, one per dose (NaN for none).
        replicates: Replicate wells per dose.
        wells: Explicit well ids, or ``None`` to fill the next free wells.
        n_wells: For single-dose entries without explicit wells: how many wells (the entry gets
            ``n_wells × replicates`` wells; a file may give ``wells: N`` or ``replicates: R``, not both).
        mode: Layout ``mode`` (references; vehicle gets ``alive``).
        rescue_agent: Rescue agent name or empty.
        rescue_concentration: Molar concentration of the rescue agent (NaN if none).
    """

    compound: str
    role: str
    concentrations: tuple[float, ...]
    replicates: int = 1
    wells: tuple[str, ...] | None = None
    n_wells: int = 1
    mode: str = ""
    rescue_agent: str = ""
    rescue_concentration: float = math.nan


@dataclass
class Library:
    """A validated simulator library.

    Attributes:
        name: Library name.
        compounds: Compound name -> :class:`Compound`.
        rescue_agents: Agent name -> :class:`RescueAgent`.
        vehicle: Vehicle name (inactive).
        plate_maps: Plate format (96, 384, ...) -> list of :class:`Treatment`.
        background_death_per_h: Death hazard of untreated cells (1/h).
        background_modes: Mode mixture of background deaths.
        doubling_time_h: Mean cell-cycle time of untreated cells.
        source: The YAML file (``None`` for in-memory libraries).
    """

    name: str
    compounds: dict[str, Compound]
    rescue_agents: dict[str, RescueAgent]
    vehicle: str = "DMSO"
    plate_maps: dict[int, list[Treatment]] = field(default_factory=dict)
    background_death_per_h: float = 0.002
    background_modes: dict[str, float] = field(default_factory=lambda: {"apoptosis": 1.0})
    doubling_time_h: float = 36.0
    source: Path | None = None

    def compound(self, name: str) -> Compound:
        """The compound called ``name``; unknown names (vehicle) are inactive."""
        return self.compounds.get(name) or Compound(name=name)


# ----------------------------------------------------------------------------- loading


class _Int(int):
    """A YAML integer that remembers how it was written (names such as ``0123`` stay as written)."""

    text: str


class _Float(float):
    """A YAML float that remembers how it was written (a compound called ``1.50`` stays ``1.50``)."""

    text: str


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, mark) -> None:
        super().__init__(f"key '{key}' is given twice")
        self.problem = f"key '{key}' is given twice (the first would be silently dropped)"
        self.problem_mark = mark


class _LibraryLoader(yaml.SafeLoader):
    """YAML 1.2-style scalars: ``1e-5`` is a number, ``NO``/``on``/``0123``/``1:30`` stay text.

    PyYAML's YAML 1.1 rules read ``ec50: 5e-8`` as a string, a compound called ``NO``
    as ``False``, ``0123`` as the octal 83 and ``1:30`` as 90; repeated keys silently
    keep the last one. Library files get none of that.
    """

    def construct_mapping(self, node, deep=False):
        seen: dict[str, object] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *defaults': keys it brings may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            text = _text(key)
            if text in seen:
                raise _DuplicateKey(text, key_node.start_mark)
            seen[text] = key
        return super().construct_mapping(node, deep=deep)


_DROP = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
         "tag:yaml.org,2002:timestamp"}
_LibraryLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in _DROP]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LibraryLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LibraryLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_LibraryLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"),
)


def _bad_scalar(node, kind: str) -> yaml.YAMLError:
    return yaml.constructor.ConstructorError(None, None, f"'{node.value}' is not {kind}",
                                             node.start_mark)


def _remembering(kind: type, construct, what: str):
    """A YAML constructor of ``kind`` values that keep the text they were written as (``'!!int x'`` refused)."""

    def build(loader, node):
        try:
            v = kind(construct(loader, node))
        except (ValueError, TypeError):  # '!!int x', '!!float x'
            raise _bad_scalar(node, what) from None
        v.text = node.value
        return v

    return build


_LibraryLoader.add_constructor("tag:yaml.org,2002:int",
                               _remembering(_Int, yaml.SafeLoader.construct_yaml_int, "an integer"))
_LibraryLoader.add_constructor("tag:yaml.org,2002:float",
                               _remembering(_Float, yaml.SafeLoader.construct_yaml_float, "a number"))


def _text(value) -> str:
    """A name as the file wrote it (``0123`` stays ``0123``, not ``123``)."""
    return getattr(value, "text", None) or str(value)


def _json_pairs(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key '{k}' is given twice (the first would be silently dropped)")
        out[k] = v
    return out


def load_library(spec: str | Path) -> Library:
    """Load ``"demo"`` (the bundled library) or a library file (YAML, or JSON for ``*.json``).

    Raises:
        LibraryError: One line naming the file and the offending key.
    """
    path = DEMO_LIBRARY_PATH if str(spec) == "demo" else Path(spec)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LibraryError(f"{path}: library file not found (use 'demo' or a YAML file)") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise LibraryError(f"{path}: not a UTF-8 YAML text file") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise LibraryError(f"{path}: JSON syntax error at line {exc.lineno}: {exc.msg}") from None
        except ValueError as exc:
            raise LibraryError(f"{path}: {exc}") from None
        return library_from_dict(data, source=path)
    try:
        data = yaml.load(text, Loader=_LibraryLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        if isinstance(exc, _DuplicateKey):
            raise LibraryError(f"{path}: line {mark.line + 1}: {problem}") from None
        if "'\\t'" in problem:
            problem += " (YAML indents with spaces, not tabs)"
        raise LibraryError(f"{path}: YAML syntax error{where}: {problem}") from None
    except (ValueError, KeyError, TypeError, OverflowError, AttributeError) as exc:  # explicit '!!tag' values
        raise LibraryError(f"{path}: YAML value that cannot be read: {exc}") from None
    return library_from_dict(data, source=path)


#: Fastest cell cycle a library may give (h): faster ones grow the population beyond reach.
MIN_DOUBLING_TIME_H = 6.0


def library_from_dict(data: object, source: Path | None = None) -> Library:
    """Validate a parsed library mapping (see the module docstring for the schema).

    Raises:
        LibraryError: One line naming ``source`` and the offending key.
    """
    where = str(source) if source else "library"

    def fail(key: str, problem: str) -> LibraryError:
        return LibraryError(f"{where}: {key}: {problem}")

    if not isinstance(data, dict):
        raise LibraryError(f"{where}: expected a mapping with 'compounds' and 'plate_maps'")
    known = {
        "name", "vehicle", "compounds", "rescue_agents", "plate_maps",
        "background_death_per_h", "background_modes", "doubling_time_h", "description",
    }
    for key in data:
        if key not in known:
            raise fail(str(key), f"unknown key (known: {', '.join(sorted(known))})")

    def number(key: str, value, lo=None, hi=None, positive=False, molar=False) -> float:
        if value is None:
            raise fail(key, "missing value")
        if isinstance(value, str):
            text, written_unit = split_value_unit(value)  # the layouts' own reading: '10 uM', '100nM'
            unit = molar_unit(written_unit) if written_unit else ""
            try:
                v = float(text)
                if written_unit and not (molar and unit):
                    raise ValueError(written_unit)
            except ValueError:
                hint = (f" (molar, e.g. 1.0e-6, or with a unit: {', '.join(MOLAR_DIVISORS)})"
                        if molar else "")
                raise fail(key, f"'{value}' is not a number{hint}") from None
            if unit:  # 10 uM is 1e-05, not 9.999999999999999e-06
                v = to_molar(v, unit)
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(key, f"'{value}' is not a number")
        else:
            v = float(value)
        if not math.isfinite(v):
            raise fail(key, f"'{value}' is not finite")
        if positive and v <= 0:
            raise fail(key, f"must be > 0, got {value}")
        if lo is not None and v < lo:
            raise fail(key, f"must be >= {lo}, got {value}")
        if hi is not None and v > hi:
            raise fail(key, f"must be <= {hi}, got {value}")
        if molar and v >= 1.0:
            raise fail(key, f"{value} is {v:g} M: concentrations are molar (10 µM is 1.0e-5 "
                            "or '10 uM')")
        return v

    def integer(key: str, value, lo=None, hi=None) -> int:
        v = number(key, value, lo, hi)
        if v != int(v):
            raise fail(key, f"must be a whole number, got {value}")
        return int(v)

    def name(key: str, value) -> str:
        if value is None or isinstance(value, (bool, dict, list)):
            raise fail(key, f"'{value}' is not a name (quote it if it is one)")
        text = _text(value)
        if not text.strip():
            raise fail(key, "empty name")
        if text != text.strip() or any(ord(ch) < 32 for ch in text):
            raise fail(key, f"name {text!r} has leading/trailing spaces or control characters")
        return text

    def modes(key: str, value) -> dict[str, float]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail(key, "expected a mapping mode -> weight, e.g. {ferroptosis: 1.0}")
        out = {}
        for m, w in value.items():
            if m not in DEATH_MODES:
                raise fail(f"{key}.{m}", f"unknown death mode (one of {', '.join(DEATH_MODES)})")
            out[m] = number(f"{key}.{m}", w, lo=0.0)
        total = sum(out.values())
        if out and total <= 0:
            raise fail(key, "weights sum to zero")
        return {m: w / total for m, w in out.items() if w > 0}

    raw_compounds = data.get("compounds") or {}
    if not isinstance(raw_compounds, dict):
        raise fail("compounds", "expected a mapping name -> parameters")
    c_keys = {
        "modes", "emax", "ec50", "hill", "onset_h", "rate_per_h",
        "growth_inhibition", "gi50", "description",
    }
    compounds: dict[str, Compound] = {}
    for raw_name, params in raw_compounds.items():
        key = f"compounds.{_text(raw_name)}"
        cname = name(key, raw_name)
        if cname in compounds:
            raise fail(key, "compound listed twice")
        params = params or {}
        if not isinstance(params, dict):
            raise fail(key, "expected a mapping of parameters")
        for k in params:
            if k not in c_keys:
                raise fail(f"{key}.{k}", f"unknown parameter (known: {', '.join(sorted(c_keys))})")
        m = modes(f"{key}.modes", params.get("modes"))
        emax = number(f"{key}.emax", params.get("emax", 0.9 if m else 0.0), 0.0, 1.0)
        if emax > 0 and not m:
            raise fail(f"{key}.modes", "emax > 0 needs at least one death mode")
        gi50 = params.get("gi50")
        compounds[cname] = Compound(
            name=cname,
            modes=m,
            emax=emax,
            ec50=number(f"{key}.ec50", params.get("ec50", 1e-6), positive=True, molar=True),
            hill=number(f"{key}.hill", params.get("hill", 1.0), positive=True),
            onset_h=number(f"{key}.onset_h", params.get("onset_h", 6.0), lo=0.0),
            rate_per_h=number(f"{key}.rate_per_h", params.get("rate_per_h", 0.1), positive=True),
            growth_inhibition=number(
                f"{key}.growth_inhibition", params.get("growth_inhibition", 0.0), 0.0, 0.95
            ),
            gi50=None if gi50 is None else number(f"{key}.gi50", gi50, positive=True, molar=True),
            description=_text(params.get("description") or ""),
        )

    raw_agents = data.get("rescue_agents") or {}
    if not isinstance(raw_agents, dict):
        raise fail("rescue_agents", "expected a mapping name -> {blocks, efficacy}")
    a_keys = {"blocks", "efficacy", "concentration", "ic50", "hill"}
    agents: dict[str, RescueAgent] = {}
    for raw_name, params in raw_agents.items():
        key = f"rescue_agents.{_text(raw_name)}"
        aname = name(key, raw_name)
        if aname in agents:
            raise fail(key, "rescue agent listed twice")
        if not isinstance(params, dict) or "blocks" not in params:
            raise fail(key, "expected {blocks: MODE, efficacy: 0..1}")
        for k in params:
            if k not in a_keys:
                raise fail(f"{key}.{k}", f"unknown parameter (known: {', '.join(sorted(a_keys))})")
        if params["blocks"] not in DEATH_MODES:
            raise fail(f"{key}.blocks", f"unknown death mode (one of {', '.join(DEATH_MODES)})")
        agents[aname] = RescueAgent(
            name=aname,
            blocks=params["blocks"],
            efficacy=number(f"{key}.efficacy", params.get("efficacy", 0.9), 0.0, 1.0),
            concentration=number(
                f"{key}.concentration", params.get("concentration", 1e-6), positive=True,
                molar=True,
            ),
            ic50=None if params.get("ic50") is None else number(f"{key}.ic50", params["ic50"], positive=True,
                                                                molar=True),
            hill=number(f"{key}.hill", params.get("hill", 1.0), positive=True),
        )

    vehicle = name("vehicle", data.get("vehicle", "DMSO"))
    raw_maps = data.get("plate_maps")
    if not isinstance(raw_maps, dict) or not raw_maps:
        raise fail("plate_maps", "expected a mapping plate format (96, 384) -> list of entries")
    plate_maps: dict[int, list[Treatment]] = {}
    for fmt, entries in raw_maps.items():
        text = _text(fmt).strip()
        if not text.isdigit():
            raise fail(f"plate_maps.{text}", "plate format must be a number of wells") from None
        n = int(text)
        try:
            PlateFormat.from_n_wells(n)
        except (ValueError, WellError) as exc:
            raise fail(f"plate_maps.{text}", str(exc)) from None
        if n in plate_maps:
            raise fail(f"plate_maps.{text}", f"a second map for {n}-well plates")
        if not isinstance(entries, list):
            raise fail(f"plate_maps.{text}", "expected a list of entries")
        plate_maps[n] = [
            _treatment(e, f"plate_maps.{text}[{i}]", compounds, agents, vehicle, fail, number,
                       integer, name)
            for i, e in enumerate(entries)
        ]

    bg_modes = modes("background_modes", data.get("background_modes", {"apoptosis": 1.0}))
    raw_name = data.get("name")
    return Library(
        name=name("name", raw_name) if raw_name is not None else (
            source.stem if source else "library"),
        compounds=compounds,
        rescue_agents=agents,
        vehicle=vehicle,
        plate_maps=plate_maps,
        background_death_per_h=number(
            "background_death_per_h", data.get("background_death_per_h", 0.002), 0.0, 1.0
        ),
        background_modes=bg_modes or {"apoptosis": 1.0},
        doubling_time_h=number("doubling_time_h", data.get("doubling_time_h", 36.0),
                               lo=MIN_DOUBLING_TIME_H),
        source=source,
    )


def _near(name: str, known: list[str]) -> str:
    """``; did you mean 'X'?`` for a name that differs from a known one in case, spacing or Unicode form."""
    def key(t: str) -> str:
        return "".join(unicodedata.normalize("NFKC", t).casefold().split())

    hits = [k for k in known if key(k) == key(name)] or difflib.get_close_matches(name, known, 1, 0.8)
    if not hits:
        return ""
    same = unicodedata.normalize("NFKC", hits[0]) == unicodedata.normalize("NFKC", name)
    return f"; did you mean '{hits[0]}'{' (same letters, another Unicode form)' if same else ''}?"


def _kills(c: Compound | None) -> bool:
    return c is not None and c.emax > 0 and bool(c.modes)


def _treatment(entry, key, compounds, agents, vehicle, fail, number, integer, name) -> Treatment:
    if not isinstance(entry, dict):
        raise fail(key, "expected a mapping like {compound: X, role: sample, doses: {...}}")
    allowed = {
        "compound", "role", "concentration", "doses", "replicates", "wells", "mode",
        "rescue_agent", "rescue_concentration",
    }
    for k in entry:
        if k not in allowed:
            raise fail(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
    role = _text(entry.get("role", "sample"))
    if role not in _ROLES:
        raise fail(f"{key}.role", f"unknown role '{role}' (one of {', '.join(_ROLES)})")
    given = {k for k, v in entry.items() if v is not None}
    if role == "empty":
        extra = given & {"compound", "concentration", "doses", "mode", "rescue_agent",
                         "rescue_concentration"}
        if extra:
            raise fail(f"{key}.{sorted(extra)[0]}", "empty wells hold medium only (no cells, no "
                       "compound); give another role to treat them")
        compound = ""
    elif "compound" not in given:
        raise fail(f"{key}.compound", "missing compound name")
    else:
        compound = name(f"{key}.compound", entry["compound"])
        if compound not in compounds and compound != vehicle:
            raise fail(f"{key}.compound", f"unknown compound '{compound}' (not under 'compounds'"
                       f"{_near(compound, [*compounds, vehicle])})")
    c = compounds.get(compound) if compound != vehicle or compound in compounds else None
    if "doses" in given and "concentration" in given:
        raise fail(key, "give either 'concentration' or 'doses', not both")
    if "doses" in given:
        d = entry["doses"]
        if isinstance(d, list):
            if not d:
                raise fail(f"{key}.doses", "empty list of doses")
            concs = tuple(number(f"{key}.doses[{i}]", v, positive=True, molar=True)
                          for i, v in enumerate(d))
        elif isinstance(d, dict):
            for k in d:
                if k not in ("top", "dilution", "n"):
                    raise fail(f"{key}.doses.{k}", "unknown key (known: dilution, n, top)")
            top = number(f"{key}.doses.top", d.get("top"), positive=True, molar=True)
            dil = number(f"{key}.doses.dilution", d.get("dilution", 3.0), lo=1.0001)
            n = integer(f"{key}.doses.n", d.get("n", 8), 1, 48)
            # 12 significant digits: 1e-5 / 10 is 1e-06 (as a listed dose), not 1.0000000000000002e-06
            concs = tuple(float(f"{top / dil**i:.12g}") for i in range(n))
        else:
            raise fail(f"{key}.doses", "expected a list of molar doses or {top, dilution, n}")
        seen: set[float] = set()
        for i, v in enumerate(concs):
            if v in seen:
                raise fail(f"{key}.doses[{i}]", f"dose {v:g} M listed twice (use 'replicates')")
            seen.add(v)
    elif "concentration" in given:
        concs = (number(f"{key}.concentration", entry["concentration"], positive=True,
                        molar=True),)
    else:
        concs = (math.nan,)
        if role not in ("empty", "vehicle", "neg_ctrl") and compound != vehicle:
            raise fail(key, f"'{compound}' needs a 'concentration' or 'doses' (molar)")
    replicates = integer(f"{key}.replicates", entry.get("replicates", 1), 1, 64)
    wells = entry.get("wells", 1)
    if isinstance(wells, str):
        wells = [w for w in re.split(r"[,\s]+", wells) if w]
    explicit: tuple[str, ...] | None = None
    n_wells = 1
    if isinstance(wells, list):
        explicit = tuple(_text(w) for w in wells)
        if not explicit:
            raise fail(f"{key}.wells", "empty list of wells")
        if len(concs) > 1 and len(explicit) != len(concs) * replicates:
            raise fail(f"{key}.wells", f"{len(explicit)} wells for {len(concs)} doses × "
                       f"{replicates} replicates")
        if len(concs) == 1 and "replicates" in given and len(explicit) != replicates:
            raise fail(f"{key}.wells", f"{len(explicit)} wells for {replicates} replicates")
    else:
        n_wells = integer(f"{key}.wells", wells, 1, 1536)
        if len(concs) > 1 and n_wells != 1:
            raise fail(f"{key}.wells", "use 'replicates' (not a well count) for dose series")
        if len(concs) == 1 and "wells" in given and "replicates" in given and replicates != 1:
            raise fail(f"{key}.wells", f"{n_wells} wells and {replicates} replicates: for one dose 'wells: N' is "
                       "the number of wells (each a replicate), so give one of them")
    mode = _text(entry.get("mode") or "")
    if mode and mode not in CLASSES:
        raise fail(f"{key}.mode", f"unknown mode '{mode}' (one of {', '.join(CLASSES)})")
    if role == "vehicle":
        if _kills(c) or (c is not None and c.growth_inhibition > 0):
            raise fail(f"{key}.compound", f"'{compound}' is active (see compounds.{compound}): "
                       f"vehicle wells take an inactive vehicle")
        if mode not in ("", "alive"):
            raise fail(f"{key}.mode", f"vehicle wells are 'alive', not '{mode}'")
        mode = "alive"
    elif mode == "alive" and _kills(c):
        raise fail(f"{key}.mode", f"'{compound}' kills by {', '.join(c.modes)}, "
                   "so its wells are not 'alive'")
    elif mode and mode != "alive" and (not _kills(c) or mode not in c.modes):
        does = f"kills by {', '.join(c.modes)}" if _kills(c) else "kills no cell"
        raise fail(f"{key}.mode", f"'{compound}' {does}, so mode '{mode}' would label its "
                   "wells with a death the truth does not hold")
    if role == "reference" and not mode:
        if not _kills(c):
            raise fail(f"{key}.mode", "a reference needs a mode (its compound kills nothing)")
        mode = max(c.modes, key=c.modes.get)
    agent = _text(entry.get("rescue_agent") or "")
    rconc = math.nan
    if agent:
        if agent not in agents:
            raise fail(f"{key}.rescue_agent", f"unknown rescue agent '{agent}' (not under "
                       f"'rescue_agents'{_near(agent, list(agents))})")
        rc = entry.get("rescue_concentration")
        rconc = agents[agent].concentration if rc is None else number(
            f"{key}.rescue_concentration", rc, positive=True, molar=True
        )
    elif role == "rescue":
        raise fail(f"{key}.rescue_agent", "a rescue entry needs a rescue_agent")
    elif "rescue_concentration" in given:
        raise fail(f"{key}.rescue_concentration", "no rescue_agent to give it to")
    return Treatment(
        compound=compound,
        role=role,
        concentrations=concs,
        replicates=replicates,
        wells=explicit,
        n_wells=n_wells,
        mode=mode,
        rescue_agent=agent,
        rescue_concentration=rconc,
    )
