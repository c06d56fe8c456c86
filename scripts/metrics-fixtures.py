#!/usr/bin/env python3
"""Reference values for rxtrain's exact metrics (src/metrics), computed with scikit-learn.

Writes test/fixtures/metrics/*.json: seeded random inputs (float32-representable, so tfjs sees the
same numbers) and scikit-learn's values on them. test/metrics/exact.test.ts checks every metric
against these files to 1e-6. Rerun with:

    pip install scikit-learn numpy
    python3 scripts/metrics-fixtures.py
"""
import json
import os

import numpy as np
import sklearn
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'metrics')
BINS = [10, 100, 1000]


def f32(a):
    return np.asarray(a, dtype=np.float32)


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def class_scores(y, pred, classes, positive=None):
    out = {}
    labels = list(range(classes))
    for name, fn in [('precision', skm.precision_score), ('recall', skm.recall_score), ('f1', skm.f1_score)]:
        for average in ['macro', 'micro', 'weighted']:
            out[f'{name}/{average}'] = float(fn(y, pred, labels=labels, average=average, zero_division=0))
        if positive is not None:
            out[f'{name}/binary'] = float(fn(y, pred, pos_label=positive, average='binary', zero_division=0))
    return out


def binned(scores, bins):
    """The bin of each score, as src/metrics/rankingMetrics.ts computes it in float32."""
    return np.clip(np.floor(f32(scores) * np.float32(bins)), 0, bins - 1)


def ranking(y, scores, classes):
    """Exact AUROC / AP (one-vs-rest, macro, for several classes) and the values on binned scores."""
    if classes == 1:
        onehot = np.asarray(y).reshape(-1, 1)
        cols = np.asarray(scores).reshape(-1, 1)
        exact = {'auroc': float(skm.roc_auc_score(y, scores)), 'averagePrecision': float(skm.average_precision_score(y, scores))}
    else:
        onehot = label_binarize(y, classes=list(range(classes)))
        cols = np.asarray(scores)
        exact = {
            'auroc': float(skm.roc_auc_score(y, scores, multi_class='ovr', average='macro')),
            'averagePrecision': float(skm.average_precision_score(onehot, scores, average='macro')),
        }
    out = {'exact': exact}
    for b in BINS:
        q = binned(cols, b)
        out[str(b)] = {
            'auroc': float(np.mean([skm.roc_auc_score(onehot[:, k], q[:, k]) for k in range(cols.shape[1])])),
            'averagePrecision': float(np.mean([skm.average_precision_score(onehot[:, k], q[:, k]) for k in range(cols.shape[1])])),
        }
    return out


def main():
    rng = np.random.default_rng(18)
    os.makedirs(OUT, exist_ok=True)
    n = 300

    # Multiclass: logits [n, 4], class ids.
    classes = 4
    logits = f32(rng.normal(size=(n, classes)))
    y = rng.integers(0, classes, size=n)
    logits[np.arange(n), y] += f32(rng.uniform(0, 1.5, size=n))  # some signal
    pred = logits.argmax(axis=1)
    probs = f32(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    multiclass = {
        'classes': classes,
        'logits': floats(logits),
        'probabilities': floats(probs),
        'labels': [int(v) for v in y],
        'confusion': [[int(c) for c in row] for row in skm.confusion_matrix(y, pred, labels=list(range(classes)))],
        'scores': class_scores(y, pred, classes),
        'topk': {str(k): float(skm.top_k_accuracy_score(y, logits, k=k, labels=list(range(classes)))) for k in [1, 2, 3]},
        'ranking': ranking(y, probs.astype(np.float64), classes),
    }

    # Binary: probabilities of the positive class [n], labels 0/1; a copy rounded to 2 decimals has ties.
    p = f32(rng.uniform(size=n))
    yb = (rng.uniform(size=n) < 0.2 + 0.6 * p).astype(int)
    tied = f32(np.round(p, 2))
    binary = {
        'scores': floats(p),
        'tiedScores': floats(tied),
        'labels': [int(v) for v in yb],
        'confusion': [[int(c) for c in row] for row in skm.confusion_matrix(yb, (p >= 0.5).astype(int), labels=[0, 1])],
        'classScores': class_scores(yb, (p >= 0.5).astype(int), 2, positive=1),
        'classScoresPositive0': {
            k: float(fn(yb, (p >= 0.5).astype(int), pos_label=0, average='binary', zero_division=0))
            for k, fn in [('precision', skm.precision_score), ('recall', skm.recall_score), ('f1', skm.f1_score)]
        },
        'ranking': ranking(yb, p.astype(np.float64), 1),
        'tiedRanking': ranking(yb, tied.astype(np.float64), 1),
    }

    # Regression: one output and three.
    def regression(outputs):
        shape = (n,) if outputs == 1 else (n, outputs)
        # Targets away from 0, so that MAPE (|y - ŷ| / |y|) is not ruled by one tiny target.
        target = f32(rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 3.0, size=shape))
        prediction = f32(target * 0.8 + 0.3 + rng.normal(0, 0.7, size=shape))
        # scikit-learn on float64 copies: float32 arrays would make it compute in float32.
        target, prediction = target.astype(np.float64), prediction.astype(np.float64)
        return {
            'outputs': outputs,
            'prediction': floats(prediction),
            'target': floats(target),
            'r2': float(skm.r2_score(target, prediction)),
            'explainedVariance': float(skm.explained_variance_score(target, prediction)),
            'mape': float(skm.mean_absolute_percentage_error(target, prediction)),
            'mse': float(skm.mean_squared_error(target, prediction)),
        }

    fixtures = {
        'generator': f'scripts/metrics-fixtures.py, scikit-learn {sklearn.__version__}, numpy {np.__version__}, seed 18',
        'multiclass': multiclass,
        'binary': binary,
        'regression': regression(1),
        'regression3': regression(3),
    }
    with open(os.path.join(OUT, 'sklearn.json'), 'w') as f:
        json.dump(fixtures, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
