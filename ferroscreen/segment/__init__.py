"""Nuclei instance segmentation: preprocessing, targets, inference, post-processing, features, QC.

Array-level helpers live in numpy-only modules (:mod:`.targets`, :mod:`.postprocess`,
:mod:`.features`, :mod:`.qc`); :mod:`.predict` runs a :class:`~ferroscreen.models.unet.UNet`
with plain torch (no Lightning) and :mod:`.run` drives ``ferroscreen segment``.
"""
