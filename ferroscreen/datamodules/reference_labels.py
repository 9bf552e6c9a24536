"""Reference wells as training classes: a layout's wells read as classes, and well names in messages.

:class:`WellLabeller` reads which wells of a layout train which class (roles, modes, rescue
combinations, excluded and dose-0 wells, plate formats) and says what it leaves out;
``wells_text``/``well_order``/``on_format`` name and order wells in those messages.
"""

from __future__ import annotations

import pandas as pd

from ferroscreen.errors import FerroscreenError
from ferroscreen.plate.agents import agent_mode, uncertain_combination
from ferroscreen.plate.layout_records import normalize_mode
from ferroscreen.plate.wells import PlateFormat, well_to_rowcol

__all__ = ["WellLabeller", "check_class_names", "on_format", "well_order", "wells_text"]


def wells_text(wells, limit: int = 8) -> str:
    """``A01, B02 and 3 more`` (wells in plate order, ``plate/well`` keys as they are)."""
    wells = list(dict.fromkeys(wells))
    shown = ", ".join(wells[:limit])
    return shown + (f" and {len(wells) - limit} more" if len(wells) > limit else "")


def well_order(well: str):
    """Sort key of a well name (``A2`` before ``A10``; ``plate/well`` keys by plate, then well)."""
    plate, _, w = str(well).rpartition("/")
    try:
        return (plate, *well_to_rowcol(w))
    except Exception:  # noqa: BLE001 - an instrument's odd well name sorts as text
        return (plate, 10**6, str(w))


def on_format(well: str, fmt: PlateFormat) -> bool:
    """Whether ``well`` lies on a plate of format ``fmt``."""
    try:
        return fmt.contains(well)
    except Exception:  # noqa: BLE001
        return True


#: Why wells with a death-mode inhibitor are not trained (notes).
RESCUED = "rescue combinations (an inducer with a death-mode inhibitor), not pure examples of their mode, so not used"
INHIBITOR_ONLY = ("vehicle wells with a death-mode inhibitor alone (inhibitor-only controls, not plain vehicle), "
                  "so not used")
UNSURE = ("written as a combination that is no known inducer cocktail (a part may be a death-mode inhibitor "
          "ferroscreen does not know: a rescue), so not used; give an inhibitor in the rescue_agent column, and an "
          "inducer cocktail one name (TSZ)")


def _with_agent(row) -> str:
    """A well's compound and rescue agent as the layout wrote them (``RSL3 + Fer-1``)."""
    agent = row.rescue_agent if isinstance(row.rescue_agent, str) else ""
    return str(row.compound) if not agent or agent in str(row.compound) else f"{row.compound} + {agent}"


def check_class_names(classes: list[str]) -> None:
    """Refuse class names spelled otherwise than a layout's modes are read (``Alive``, ``Ferroptotic``).

    Such a class trains (modes match it as :func:`normalize_mode` reads both), but evaluate, score
    and report take a bundle's class names as they are, so its model would match no layout mode.

    Raises:
        FerroscreenError: Naming the first such class and the classes as they are to be written.
    """
    odd = next((c for c in classes if normalize_mode(c) and normalize_mode(c) != c), None)
    if odd is not None:
        canonical = ", ".join(normalize_mode(c) or c for c in classes)
        raise FerroscreenError(f"--model.classes: class '{odd}' is written '{normalize_mode(odd)}' in layouts and "
                               f"model bundles (evaluate and score match classes by name); give [{canonical}]")


class WellLabeller:
    """Which layout wells train which of ``classes``: wells of ``roles`` (reference, vehicle), by their mode.

    Vehicle wells train ``alive``; a mode matches a class as :func:`normalize_mode` reads both
    (``Ferroptosis``, ``ferroptotic`` as ``ferroptosis``). Only wells whose label is sure train: a well
    with a death-mode inhibitor (a ``rescue_agent``, or role ``rescue``) trains no class, a vehicle
    well with an inhibitor alone neither (an inhibitor-only control: its own effect is what it tests),
    and a well written as a combination that is no known inducer cocktail
    (:func:`~ferroscreen.plate.agents.uncertain_combination`: ``staurosporine + Q-VD`` while
    ``Q-VD`` were unknown) is left out rather than trained as its mode.
    """

    def __init__(self, classes: list[str], roles: tuple[str, ...]) -> None:
        self.classes = list(classes)
        self.roles = tuple(roles)

    def no_class(self, unseen: list[str], dropped: dict[int, list[str]], onset_h, until_h) -> None:
        """Refuse to train without crops of the classes ``unseen``, saying why each has none.

        Raises:
            FerroscreenError: Always.
        """
        why = [w for i, c in enumerate(self.classes) if c in unseen for w in dropped.get(i, [])]
        never = [c for i, c in enumerate(self.classes) if c in unseen and i not in dropped]
        if never:
            why.append(f"the layout names no {'/'.join(self.roles)} wells of {', '.join(never)}")
        raise FerroscreenError(
            f"data.root: no training crops of class(es) {', '.join(unseen)} ({'; '.join(why)}; onset_h "
            f"{onset_h}, until_h {until_h}); a classifier cannot learn a class it never sees (train "
            f"on the classes the plate has: --model.classes)")

    def class_of(self, mode: str) -> int | None:
        """The index of the class a layout's mode names (``Ferroptosis``, ``ferroptotic`` as ``ferroptosis``)."""
        if not mode:
            return None
        wanted = normalize_mode(mode)
        for i, c in enumerate(self.classes):
            if c == mode or normalize_mode(c) == wanted:
                return i
        return None

    def check_plate_format(self, layout, layout_path, frames: pd.DataFrame, notes: list[str]) -> None:
        """Refuse images of wells a plate map of a stated format (grids, a PlateMap, a D300 protocol) cannot hold.

        A 96-well map applied to a 384-well plate names wells (A01...H12) that sit elsewhere on it.
        """
        wells = sorted({str(w) for w in frames["well"]}, key=well_order)
        fmt = layout.plate_format
        beyond = [w for w in wells if not on_format(w, fmt)]
        if not beyond:
            return
        try:
            fits = f": a {PlateFormat.smallest_containing(wells).n_wells}-well plate"
        except Exception:  # noqa: BLE001 - wells beyond 1536
            fits = ""
        said = (f"{layout_path}: a {fmt.n_wells}-well plate map, but the images hold wells it has no place for "
                f"({wells_text(beyond)}{fits})")
        if layout.form in ("grid", "platemap", "d300"):  # maps of a stated format (a CSV table only lists wells)
            raise FerroscreenError(f"{said}; give this plate's layout")
        notes.append(f"{said}; check it is this plate's layout")

    def well_classes(self, k: int, layout, layout_path, plates: list[str], notes: list[str],
                      dropped: dict[int, list[str]]) -> tuple[dict[tuple[int, str, str], int], set[str]]:
        """Each labelled well's class, keyed ``(k, plate, well)``; and the layout's modes no class names.

        What the layout says that training does not take is said in ``notes``: excluded wells, rescue
        combinations and wells of role ``rescue`` given a mode, vehicle wells with an inhibitor alone,
        combinations of unsure content, modes that are no class, vehicle wells given a death mode
        (trained as alive), control wells given a mode but a role training does not read. Why a class
        lost wells, for an error should it have none left, goes to ``dropped``.
        """
        well_class: dict[tuple[int, str, str], int] = {}
        skipped: dict[str, list[str]] = {}
        said: dict[str, list[str]] = {}
        several_layout_plates = len(layout.plate_ids) > 1
        by_role: dict[tuple[int, str], list[str]] = {}
        inhibited: dict[int, list[str]] = {}  # wells of a class left out for an inhibitor (or maybe one) in them
        alive = self.class_of("alive")
        for plate in plates:  # a layout with rows for several plates labels each plate by its own rows
            if several_layout_plates and not layout.plate_candidates(plate):
                raise FerroscreenError(
                    f"{layout_path}: holds plates {', '.join(layout.plate_ids)}, none of which is the imaged plate "
                    f"'{plate}'; give this plate's layout (its plate_id naming '{plate}', or a layout of one plate)")
            wt = layout.for_plate(plate if several_layout_plates else None).table
            excluded = wt["exclude"].fillna("").astype(str) if "exclude" in wt.columns else None
            for i, row in enumerate(wt.itertuples(index=False)):
                shown = row.well if len(plates) == 1 else f"{plate}/{row.well}"
                written = str(row.mode or "")
                if row.role not in self.roles:
                    c = self.class_of(written) if written else None
                    if row.role == "rescue" and written:  # the simulator writes the mode its inducer causes
                        said.setdefault(RESCUED, []).append(f"{shown} ({_with_agent(row)})")
                        if c is not None:
                            inhibited.setdefault(c, []).append(shown)
                    if row.role in ("pos_ctrl", "neg_ctrl") and c is not None:
                        said.setdefault(f"role {row.role} (data.roles: {', '.join(self.roles)}), so not used, "
                                        f"though their mode is a class", []).append(shown)
                    if c is not None and row.role in ("sample", "pos_ctrl", "neg_ctrl"):
                        by_role.setdefault((c, row.role), []).append(shown)
                    continue
                if excluded is not None and excluded.iloc[i]:
                    said.setdefault("excluded in the layout (exclude column), so not used", []).append(
                        f"{shown} ({excluded.iloc[i]})")
                    continue
                agent = row.rescue_agent if isinstance(row.rescue_agent, str) and row.rescue_agent else None
                if agent:  # rescued wells (the layout reads RSL3/Fer-1 1uM so too) are not pure examples of a mode
                    unsure = INHIBITOR_ONLY if row.role == "vehicle" else RESCUED
                elif row.role == "vehicle" and agent_mode(row.compound):  # Fer-1 alone, marked vehicle
                    unsure = INHIBITOR_ONLY
                else:
                    unsure = UNSURE if uncertain_combination(row.compound) else ""
                if unsure:
                    said.setdefault(unsure, []).append(f"{shown} ({_with_agent(row)})")
                    c = alive if row.role == "vehicle" else self.class_of(written)
                    if c is not None:
                        inhibited.setdefault(c, []).append(shown)
                    continue
                dose = getattr(row, "concentration_raw", None)
                if row.role != "vehicle" and isinstance(dose, (int, float)) and dose == 0:
                    said.setdefault("reference wells at dose 0 (no inducer), so not used", []).append(
                        f"{shown} ({row.compound} 0 {row.unit})".replace(" )", ")"))
                    continue
                if row.role == "vehicle":
                    if written and normalize_mode(written) != "alive":
                        said.setdefault("vehicle wells given a death mode: trained as alive", []).append(
                            f"{shown} ({written})")
                    cls = alive
                    mode = "alive"
                else:
                    mode = written
                    cls = self.class_of(mode)
                if cls is not None:
                    well_class[(k, plate, row.well)] = cls
                elif mode:
                    skipped.setdefault(mode, []).append(shown)
        for (c, role), wells in by_role.items():
            dropped.setdefault(c, []).append(
                f"{layout_path}: {self.classes[c]} well(s) {wells_text(wells)} have role {role}, not "
                f"{'/'.join(self.roles)} (is the layout's role column named 'role'?)")
        for c, wells in inhibited.items():
            dropped.setdefault(c, []).append(
                f"{layout_path}: {self.classes[c]} well(s) {wells_text(wells)} hold a death-mode inhibitor or a "
                f"combination that may hold one (see the notes)")
        for mode, wells in skipped.items():
            notes.append(f"{layout_path}: mode '{mode}' is not among the classes ({', '.join(self.classes)}): "
                         f"its well(s) {wells_text(wells)} left out (add it to --model.classes to train on it)")
        for what, wells in said.items():
            notes.append(f"{layout_path}: well(s) {wells_text(wells)}: {what}")
        if not well_class:
            raise FerroscreenError(
                f"{layout_path}: no wells with role {'/'.join(self.roles)} and a mode among {self.classes}"
                + (f" (its modes: {', '.join(skipped)})" if skipped else "")
            )
        return well_class, set(skipped)
