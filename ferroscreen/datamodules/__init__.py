"""LightningDataModules: what data a task trains on."""
