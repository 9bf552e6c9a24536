"""Opening the XML layout files instruments write (IncuCyte plate maps, D300 protocols)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ferroscreen.errors import LayoutError


def xml_root(path: Path, tag: str, what: str) -> ET.Element:
    """The root element of ``path``, its namespaces stripped from every tag.

    Raises:
        LayoutError: One line naming ``path``: missing, not well-formed XML, or a root other than ``tag``
            (``what`` names the kind of file expected).
    """
    try:
        root = ET.fromstring(path.read_bytes())
    except FileNotFoundError:
        raise LayoutError(f"{path}: {what} not found") from None
    except ET.ParseError as exc:
        raise LayoutError(f"{path}: not a valid {what} XML ({exc})") from None
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
    if root.tag != tag:
        raise LayoutError(f"{path}: root element is <{root.tag}>, expected <{tag}> (a {what})")
    return root
