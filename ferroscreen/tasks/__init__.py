"""LightningModules: what is trained and how."""
