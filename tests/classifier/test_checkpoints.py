import numpy as np
import pytest
import torch

from ferroscreen.errors import ModelBundleError
from ferroscreen.models.checkpoints import load_lightning_checkpoint


def test_checkpoint_with_numpy_scalars_loads(tmp_path):
    path = tmp_path / "a.ckpt"
    torch.save({"state_dict": {"net.w": torch.ones(2)}, "callbacks": {"best": np.float64(0.9)}}, path)
    blob = load_lightning_checkpoint(path)
    assert torch.equal(blob["state_dict"]["net.w"], torch.ones(2))


class Payload:
    """Stands for any pickled object a checkpoint should not carry."""


def test_checkpoint_with_arbitrary_objects_is_refused(tmp_path):
    path = tmp_path / "b.ckpt"
    torch.save({"state_dict": {}, "evil": Payload()}, path)
    with pytest.raises(ModelBundleError, match="b.ckpt: not a loadable checkpoint"):
        load_lightning_checkpoint(path)
    with pytest.raises(ModelBundleError, match="checkpoint not found"):
        load_lightning_checkpoint(tmp_path / "missing.ckpt")
