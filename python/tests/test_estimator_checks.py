"""scikit-learn's own estimator test suite on ffnn.MLPClassifier, with the default parameters and
two others that exercise the rest (SGD, logistic units, early stopping, two hidden layers;
dropout, label smoothing, weight decay, a schedule, no shuffling). No check is expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import ffnn


@parametrize_with_checks(
    [
        ffnn.MLPClassifier(),
        ffnn.MLPClassifier(
            hidden_layer_sizes=(20, 10),
            activation="logistic",
            solver="sgd",
            learning_rate_init=0.2,
            early_stopping=True,
            n_iter_no_change=20,
        ),
        ffnn.MLPClassifier(
            hidden_layer_sizes=(32,),
            solver="sgd",
            learning_rate_init=0.1,
            dropout=0.1,
            label_smoothing=0.05,
            weight_decay=1e-4,
            lr_schedule="cosine",
            shuffle=False,
        ),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
