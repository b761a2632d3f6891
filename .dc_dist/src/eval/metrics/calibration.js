/**
 * Calibration of predicted probabilities against observed outcomes.
 * - ratio = Σ p / Σ y: the predicted/observed click ratio ("calibration" in McMahan et al., "Ad
 *   Click Prediction: a View from the Trenches", KDD 2013); 1 is perfect, > 1 over-predicts.
 * - reliability bins (DeGroot & Fienberg 1983; Niculescu-Mizil & Caruana, ICML 2005): rows
 *   grouped by predicted probability, each bin's mean prediction vs its observed rate.
 * - ECE = Σ_b (n_b / n) · |meanPredicted_b − observedRate_b| (Naeini et al., AAAI 2015).
 * Distillation matters here because a student trained on a teacher's soft labels inherits the
 * teacher's calibration, while in-batch-softmax recall models are not calibrated at all.
 */
import { checkProbabilities } from './logloss.js';
import { checkSameLength } from './ranks.js';
export function calibration(labels, probabilities, options = {}) {
    const nBins = options.bins ?? 10;
    const strategy = options.strategy ?? 'uniform';
    checkSameLength('calibration', 'labels', labels, 'probabilities', probabilities);
    if (!Number.isInteger(nBins) || nBins < 1)
        throw new Error(`calibration: bins must be a positive integer, got ${nBins}`);
    checkProbabilities('calibration', 'labels', labels);
    checkProbabilities('calibration', 'probabilities', probabilities);
    const n = labels.length;
    let sumP = 0;
    let sumY = 0;
    for (let i = 0; i < n; i++) {
        sumP += probabilities[i];
        sumY += labels[i];
    }
    if (sumY === 0) {
        throw new Error(`calibration: the ${n} labels contain no positive outcome; predicted/observed ratio is undefined`);
    }
    const edges = new Float64Array(nBins + 1);
    if (strategy === 'uniform') {
        for (let b = 0; b <= nBins; b++)
            edges[b] = b / nBins;
    }
    else {
        const sorted = Float64Array.from(probabilities).sort();
        edges[0] = 0;
        edges[nBins] = 1;
        for (let b = 1; b < nBins; b++)
            edges[b] = sorted[Math.min(n - 1, Math.floor((b * n) / nBins))];
    }
    const count = new Float64Array(nBins);
    const binP = new Float64Array(nBins);
    const binY = new Float64Array(nBins);
    for (let i = 0; i < n; i++) {
        const p = probabilities[i];
        // Last bin whose lower edge is ≤ p (binary search; quantile edges may repeat).
        let lo = 0;
        let hi = nBins - 1;
        while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (edges[mid] <= p)
                lo = mid;
            else
                hi = mid - 1;
        }
        count[lo]++;
        binP[lo] += p;
        binY[lo] += labels[i];
    }
    const bins = [];
    let ece = 0;
    for (let b = 0; b < nBins; b++) {
        const c = count[b];
        const meanPredicted = c > 0 ? binP[b] / c : Number.NaN;
        const observedRate = c > 0 ? binY[b] / c : Number.NaN;
        if (c > 0)
            ece += (c / n) * Math.abs(meanPredicted - observedRate);
        bins.push({ lo: edges[b], hi: edges[b + 1], count: c, meanPredicted, observedRate });
    }
    return { ratio: sumP / sumY, meanPredicted: sumP / n, observedRate: sumY / n, ece, bins };
}
//# sourceMappingURL=calibration.js.map