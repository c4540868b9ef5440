"""Timing twin of the reference's five-band scoring command (spec §3.2-3.6), for `npm run bench:score -- --command`.

Written from the spec, not copied: per heatmap the reference sums the channels, divides by max |sum|, and for each
threshold set of the sweep stratifies the attribution and the ground truth with boolean masks, compares them and
counts; then it averages / maxes A, R, P per sample and writes the per-sample CSV. numpy only (pandas is not on the
machine; the CSV is written with the csv module, which is cheaper than the reference's DataFrame).

usage: python3 score_reference.py HEATMAPS.npy TRUTH.npy OUT.csv
"""
import csv
import sys

import numpy as np

EPS = 1e-6
GT_THRESHOLDS = [-0.7, -0.3, 0.3, 0.7]


def sweep(start, d, steps):
    g = list(start)
    out = []
    for _ in range(steps):
        out.append(list(g))
        g = [x + d * (-1 if x > 0 else 1) for x in g]
    return out


def stratify(h, g):
    s = np.zeros(h.shape, dtype=np.int64)
    s[h <= g[0]] = -2
    s[(g[0] < h) & (h <= g[1])] = -1
    s[(g[2] < h) & (h <= g[3])] = 1
    s[h > g[3]] = 2
    return s


def fiveband_score(h, h0, g):
    s = stratify(h, g)
    s0 = stratify(h0, GT_THRESHOLDS)
    eq = s == s0
    pixel_acc = np.mean(eq)
    nz, nz0 = s != 0, s0 != 0
    tp = np.sum(nz & nz0 & eq)
    fp = np.sum(nz & ~nz0) + np.sum(nz & nz0 & ~eq)
    tn = np.sum(~nz & ~nz0)
    fn = np.sum(~nz & nz0)
    return pixel_acc, tp / (tp + fn + EPS), tp / (tp + fp + EPS), fp / (fp + tn + EPS)


def adjust(attribution):
    if np.all(attribution == 0):
        return np.sum(attribution, axis=0)
    s = np.sum(attribution, axis=0)
    return s / np.max(np.abs(s))


def main():
    heatmaps = np.load(sys.argv[1])
    truth = np.load(sys.argv[2])
    thresholds = sweep([-0.5, -0.3, 0.3, 0.5], 0.005, 56)  # V1 setting 1
    rows = []
    for i in range(heatmaps.shape[0]):
        h = adjust(heatmaps[i])
        scores = np.array([fiveband_score(h, truth[i], g) for g in thresholds])
        a, r, p = scores[:, 0], scores[:, 1], scores[:, 2]
        rows.append([i, a.mean(), a.max(), int(np.argmax(a)), r.mean(), r.max(), int(np.argmax(r)),
                     p.mean(), p.max(), int(np.argmax(p))])
    with open(sys.argv[3], 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['id', 'Amu', 'Au', 'Au1', 'Rmu', 'Ru', 'Ru1', 'Pmu', 'Pu', 'Pu1'])
        w.writerows(rows)


if __name__ == '__main__':
    main()
