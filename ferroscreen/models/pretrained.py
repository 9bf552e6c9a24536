"""The pretrained models ferroscreen ships; importing this module registers them.

Digests are of the exact files in ``ferroscreen/models/weights/``.
"""

from __future__ import annotations

from ferroscreen.models.registry import RegisteredModel, register_model

__all__ = ["NUCLEI_AITS"]

#: Nuclei U-Net trained on the Aits-lab U2OS Hoechst images (train split).
NUCLEI_AITS = register_model(
    RegisteredModel(
        name="nuclei-aits",
        task="nuclei-segmentation",
        filename="nuclei-aits.pt",
        sha256="50a31e9199ee674dcf6b39b15eaa243e8dbd109897d2c1d349828d19d5b7342d",
        description="compact U-Net (fg/boundary/distance) for Hoechst nuclei, 1104x1104 CX7 fields",
        source="Arvidsson, Kazemi Rashed & Aits, Data in Brief 46 (2023) 108769 (CC BY 4.0), "
        "train split of Aitslab-bioimaging1",
    )
)
