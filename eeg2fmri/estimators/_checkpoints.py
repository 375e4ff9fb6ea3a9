"""Per-epoch training checkpoints, so that an interrupted fit resumes where it stopped.

Weights are safetensors files, the optimizer and scheduler state a torch file loaded
with ``weights_only=True`` (written by this process, in the work folder), and one JSON
pointer names the files of the last complete epoch; the fingerprint of the training
problem (parameters, data, scalings) decides whether a checkpoint may be resumed.
"""

import contextlib
import hashlib
import json
from pathlib import Path

import torch

from .._utils.io import atomic_path, write_json_atomic
from .._utils.logging import logger
from ..exceptions import ModelFileError

__all__ = [
    "CheckpointStore",
    "fingerprint_digest",
    "state_to_tensors",
    "CHECKPOINT_FORMAT",
]

CHECKPOINT_FORMAT = "eeg2fmri-checkpoint"


def fingerprint_digest(fingerprint):
    """Short hash of a JSON-able dict identifying a training problem."""
    blob = json.dumps(fingerprint, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def state_to_tensors(state_dict):
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}


class CheckpointStore:
    """Per-epoch checkpoints: weights (safetensors), optimizer state, one JSON pointer.

    ``checkpoint.json`` is written last and atomically, and names the files of its
    epoch; an interruption at any point leaves the previous complete checkpoint.
    """

    def __init__(self, directory):
        self.dir = Path(directory)

    @property
    def pointer(self):
        return self.dir / "checkpoint.json"

    def load(self, digest):
        if not self.pointer.is_file():
            return None
        try:
            state = json.loads(self.pointer.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"Checkpoint {self.pointer} is unreadable ({exc}); delete it to "
                "start over."
            ) from exc
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ModelFileError(
                f"{self.pointer} was not written by eeg2fmri (no '{CHECKPOINT_FORMAT}' "
                "marker); choose another checkpoint_dir."
            )
        if state.get("fingerprint") != digest:
            logger.warning(
                "Checkpoint in %s belongs to another training problem (parameters or "
                "data differ); starting from scratch and overwriting it.",
                self.dir,
            )
            return None
        return state

    def read_weights(self, name):
        from safetensors.torch import load_file

        return load_file(self.dir / name)

    def read_optimizer(self, name):
        return torch.load(self.dir / name, map_location="cpu", weights_only=True)

    def save(self, epoch, model, optimizer, scheduler, best_state, state):
        from safetensors.torch import save_file

        self.dir.mkdir(parents=True, exist_ok=True)
        old = self._files_of(self.load_raw())
        files = {
            "weights": f"last-epoch{epoch:04d}.safetensors",
            "optimizer": f"last-epoch{epoch:04d}.optim.pt",
        }
        meta = {"format": CHECKPOINT_FORMAT}
        with atomic_path(self.dir / files["weights"]) as tmp:
            save_file(state_to_tensors(model.state_dict()), tmp, metadata=meta)
        with atomic_path(self.dir / files["optimizer"]) as tmp:
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                },
                tmp,
            )
        if best_state is not None:
            files["best"] = f"best-epoch{state['best_epoch']:04d}.safetensors"
            if not (self.dir / files["best"]).is_file():
                with atomic_path(self.dir / files["best"]) as tmp:
                    save_file(best_state, tmp, metadata=meta)
        write_json_atomic(
            self.pointer,
            {**state, "format": CHECKPOINT_FORMAT, "epoch": epoch, "files": files},
        )
        for name in old - set(files.values()):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / name).unlink()

    def load_raw(self):
        try:
            return json.loads(self.pointer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @staticmethod
    def _files_of(state):
        return set((state or {}).get("files", {}).values())
