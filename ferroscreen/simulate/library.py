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

Every validation failure raises :class:`LibraryError` whose one-line message names
the file and the key path of the problem.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ferroscreen.errors import FerroscreenError

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
        efficacy: Probability that a cell committed to that mode is spared, in [0, 1].
        concentration: Default molar concentration used in rescue wells.
    """

    name: str
    blocks: str
    efficacy: float = 0.9
    concentration: float = 1e-6


@dataclass(frozen=True)
class Treatment:
    """One plate-map entry: what goes into a set of wells.

    Attributes:
        compound: Compound name (or the vehicle name); empty for empty wells.
        role: Layout role.
        concentrations: Molar concentrations, one per dose (NaN for none).
        replicates: Replicate wells per dose.
        wells: Explicit well ids, or ``None`` to fill the next free wells.
        n_wells: For single-dose entries without explicit wells: how many wells.
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


def load_library(spec: str | Path) -> Library:
    """Load ``"demo"`` (the bundled library) or a library YAML file.

    Raises:
        LibraryError: One line naming the file and the offending key.
    """
    path = DEMO_LIBRARY_PATH if str(spec) == "demo" else Path(spec)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LibraryError(f"{path}: library file not found (use 'demo' or a YAML file)") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise LibraryError(f"{path}: not a UTF-8 YAML text file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise LibraryError(f"{path}: YAML syntax error{where}: {problem}") from None
    return library_from_dict(data, source=path)


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

    def number(key: str, value, lo=None, hi=None, positive=False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(key, f"'{value}' is not a number")
        v = float(value)
        if not math.isfinite(v):
            raise fail(key, f"'{value}' is not finite")
        if positive and v <= 0:
            raise fail(key, f"must be > 0, got {value}")
        if lo is not None and v < lo:
            raise fail(key, f"must be >= {lo}, got {value}")
        if hi is not None and v > hi:
            raise fail(key, f"must be <= {hi}, got {value}")
        return v

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
    for name, params in raw_compounds.items():
        key = f"compounds.{name}"
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
        compounds[str(name)] = Compound(
            name=str(name),
            modes=m,
            emax=emax,
            ec50=number(f"{key}.ec50", params.get("ec50", 1e-6), positive=True),
            hill=number(f"{key}.hill", params.get("hill", 1.0), positive=True),
            onset_h=number(f"{key}.onset_h", params.get("onset_h", 6.0), lo=0.0),
            rate_per_h=number(f"{key}.rate_per_h", params.get("rate_per_h", 0.1), positive=True),
            growth_inhibition=number(
                f"{key}.growth_inhibition", params.get("growth_inhibition", 0.0), 0.0, 0.95
            ),
            gi50=None if gi50 is None else number(f"{key}.gi50", gi50, positive=True),
            description=str(params.get("description", "")),
        )

    raw_agents = data.get("rescue_agents") or {}
    if not isinstance(raw_agents, dict):
        raise fail("rescue_agents", "expected a mapping name -> {blocks, efficacy}")
    agents: dict[str, RescueAgent] = {}
    for name, params in raw_agents.items():
        key = f"rescue_agents.{name}"
        if not isinstance(params, dict) or "blocks" not in params:
            raise fail(key, "expected {blocks: MODE, efficacy: 0..1}")
        if params["blocks"] not in DEATH_MODES:
            raise fail(f"{key}.blocks", f"unknown death mode (one of {', '.join(DEATH_MODES)})")
        agents[str(name)] = RescueAgent(
            name=str(name),
            blocks=params["blocks"],
            efficacy=number(f"{key}.efficacy", params.get("efficacy", 0.9), 0.0, 1.0),
            concentration=number(
                f"{key}.concentration", params.get("concentration", 1e-6), positive=True
            ),
        )

    vehicle = str(data.get("vehicle", "DMSO"))
    raw_maps = data.get("plate_maps")
    if not isinstance(raw_maps, dict) or not raw_maps:
        raise fail("plate_maps", "expected a mapping plate format (96, 384) -> list of entries")
    plate_maps: dict[int, list[Treatment]] = {}
    for fmt, entries in raw_maps.items():
        try:
            n = int(fmt)
        except (TypeError, ValueError):
            raise fail(f"plate_maps.{fmt}", "plate format must be a number of wells") from None
        if not isinstance(entries, list):
            raise fail(f"plate_maps.{fmt}", "expected a list of entries")
        plate_maps[n] = [
            _treatment(e, f"plate_maps.{fmt}[{i}]", compounds, agents, vehicle, fail, number)
            for i, e in enumerate(entries)
        ]

    bg_modes = modes("background_modes", data.get("background_modes", {"apoptosis": 1.0}))
    return Library(
        name=str(data.get("name", source.stem if source else "library")),
        compounds=compounds,
        rescue_agents=agents,
        vehicle=vehicle,
        plate_maps=plate_maps,
        background_death_per_h=number(
            "background_death_per_h", data.get("background_death_per_h", 0.002), 0.0, 1.0
        ),
        background_modes=bg_modes or {"apoptosis": 1.0},
        doubling_time_h=number("doubling_time_h", data.get("doubling_time_h", 36.0), positive=True),
        source=source,
    )


def _treatment(entry, key, compounds, agents, vehicle, fail, number) -> Treatment:
    if not isinstance(entry, dict):
        raise fail(key, "expected a mapping like {compound: X, role: sample, doses: {...}}")
    allowed = {
        "compound", "role", "concentration", "doses", "replicates", "wells", "mode",
        "rescue_agent", "rescue_concentration",
    }
    for k in entry:
        if k not in allowed:
            raise fail(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
    role = str(entry.get("role", "sample"))
    if role not in _ROLES:
        raise fail(f"{key}.role", f"unknown role '{role}' (one of {', '.join(_ROLES)})")
    compound = str(entry.get("compound", "") or "")
    if role == "empty":
        compound = ""
    elif not compound:
        raise fail(f"{key}.compound", "missing compound name")
    elif compound not in compounds and compound != vehicle:
        raise fail(f"{key}.compound", f"unknown compound '{compound}' (not under 'compounds')")
    if "doses" in entry and "concentration" in entry:
        raise fail(key, "give either 'concentration' or 'doses', not both")
    if "doses" in entry:
        d = entry["doses"]
        if isinstance(d, list):
            concs = tuple(number(f"{key}.doses[{i}]", v, positive=True) for i, v in enumerate(d))
        elif isinstance(d, dict):
            top = number(f"{key}.doses.top", d.get("top"), positive=True)
            dil = number(f"{key}.doses.dilution", d.get("dilution", 3.0), lo=1.0001)
            n = int(number(f"{key}.doses.n", d.get("n", 8), 1, 48))
            concs = tuple(top / dil**i for i in range(n))
        else:
            raise fail(f"{key}.doses", "expected a list of molar doses or {top, dilution, n}")
    elif entry.get("concentration") is not None:
        concs = (number(f"{key}.concentration", entry["concentration"], positive=True),)
    else:
        concs = (math.nan,)
    replicates = int(number(f"{key}.replicates", entry.get("replicates", 1), 1, 64))
    wells = entry.get("wells", 1)
    explicit: tuple[str, ...] | None = None
    n_wells = 1
    if isinstance(wells, list):
        explicit = tuple(str(w) for w in wells)
        if len(explicit) != len(concs) * replicates and len(concs) > 1:
            raise fail(f"{key}.wells", f"{len(explicit)} wells for {len(concs)} doses × "
                       f"{replicates} replicates")
    else:
        n_wells = int(number(f"{key}.wells", wells, 1, 1536))
        if len(concs) > 1 and n_wells != 1:
            raise fail(f"{key}.wells", "use 'replicates' (not a well count) for dose series")
    mode = str(entry.get("mode", "") or "")
    if mode and mode not in CLASSES:
        raise fail(f"{key}.mode", f"unknown mode '{mode}' (one of {', '.join(CLASSES)})")
    if role == "vehicle":
        mode = mode or "alive"
    if role == "reference" and not mode:
        c = compounds.get(compound)
        if c is None or not c.modes:
            raise fail(f"{key}.mode", "a reference needs a mode (its compound kills nothing)")
        mode = max(c.modes, key=c.modes.get)
    agent = str(entry.get("rescue_agent", "") or "")
    rconc = math.nan
    if agent:
        if agent not in agents:
            raise fail(f"{key}.rescue_agent", f"unknown rescue agent '{agent}'")
        rc = entry.get("rescue_concentration")
        rconc = agents[agent].concentration if rc is None else number(
            f"{key}.rescue_concentration", rc, positive=True
        )
    elif role == "rescue":
        raise fail(f"{key}.rescue_agent", "a rescue entry needs a rescue_agent")
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
