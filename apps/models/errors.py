"""The models app's refusals (hitlcrowd/errors.py maps their kinds to HTTP statuses)."""

from __future__ import annotations

from hitlcrowd.errors import Conflict


class ModelUnloadable(Conflict):
    """A model version's artifact cannot be loaded: saved by another scikit-learn version (we
    refuse those: their behaviour may differ), a class scikit-learn moved or removed, a missing
    or altered file. Only a retrain mends it; predictions are refused until one promotes a new
    version. `model_version` and `saved_with` name the version and the scikit-learn it was
    saved with, `running` the one installed now."""

    code = "model_unloadable"

    def __init__(self, *, model_version: str, saved_with: str, running: str, reason: str) -> None:
        self.model_version, self.saved_with, self.running = model_version, saved_with, running
        self.reason = reason
        versions = f"saved with scikit-learn {saved_with}, running {running}"
        super().__init__(
            f"Model {model_version} cannot be loaded ({versions}){reason}. Predictions resume "
            "once a retrain promotes a new version; one is queued (see models/runs)."
        )


class RetrainRunning(Conflict):
    code = "retrain_running"
    default_message = "A training run is going on for this project."


class PayloadConflict(Conflict):
    """A predict call reused an external_id for another payload."""

    code = "external_id_conflict"
    default_message = "An item with this external_id exists with another payload."

    def __init__(self) -> None:
        super().__init__(errors={"external_id": ["Already used for another payload."]})
