"""Plain nn.Module builders and pretrained-model loading (no Lightning)."""
