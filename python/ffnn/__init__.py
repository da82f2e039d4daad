"""ffnn: a feed-forward neural network written from scratch in Rust, on numpy arrays.

- ``ffnn.MLPClassifier``: a scikit-learn estimator (``fit``, ``predict``, ``partial_fit``,
  pipelines, grid search) that trains on all cores with the GIL released.
- ``ffnn.seed``: the seed assignment's functions (``initialize_parameters``, ``model_forward``,
  ``compute_loss``, ``model_backward``, ...) to check a numpy implementation against.
- ``ffnn.load_dataset(path)``: the datasets the ``ffnn`` command reads, as numpy arrays.
- ``ffnn.load(path)``: a model file written by ``MLPClassifier.save`` or by ``ffnn train``.
"""

from . import seed
from ._estimator import MLPClassifier, load, load_dataset

__all__ = ["MLPClassifier", "load", "load_dataset", "seed"]
__version__ = "0.1.0"
