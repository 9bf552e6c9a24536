"""LightningDataModules: what data a task trains on."""

from ferroscreen.datamodules.crop_base import CropDataModule, CropSets
from ferroscreen.datamodules.crop_folders import CropFolderDataModule
from ferroscreen.datamodules.point_annotations import PointAnnotationDataModule
from ferroscreen.datamodules.reference_plate import ReferencePlateDataModule

__all__ = [
    "CropDataModule",
    "CropFolderDataModule",
    "CropSets",
    "PointAnnotationDataModule",
    "ReferencePlateDataModule",
]
