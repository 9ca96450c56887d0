package dev.blockdraft.lm;

import java.util.Arrays;
import java.util.Comparator;

/**
 * A plain-Java reference of {@link Sampling#probabilities}, written from its Javadoc: temperature,
 * then the top-k tokens, then the nucleus over their renormalised softmax (a token is kept while the
 * mass before it is below p), renormalised; greedy is one-hot at the first maximum.
 */
public final class ReferenceWarp {
    private ReferenceWarp() {}

    public static double[] probabilities(double[] logits, Sampling s) {
        int v = logits.length;
        double[] p = new double[v];
        if (s.isGreedy()) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            p[best] = 1;
            return p;
        }
        Integer[] order = new Integer[v];
        for (int i = 0; i < v; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -logits[i]));
        int kept = s.topK() > 0 ? Math.min(s.topK(), v) : v;
        double max = logits[order[0]] / s.temperature();
        double sum = 0;
        double[] e = new double[v];
        for (int r = 0; r < kept; r++) {
            e[r] = Math.exp(logits[order[r]] / s.temperature() - max);
            sum += e[r];
        }
        int nucleus = 0;
        double before = 0;
        while (nucleus < kept && before < s.topP()) {
            before += e[nucleus] / sum;
            nucleus++;
        }
        double z = 0;
        for (int r = 0; r < nucleus; r++) {
            z += e[r];
        }
        for (int r = 0; r < nucleus; r++) {
            p[order[r]] = e[r] / z;
        }
        return p;
    }

    public static TokenDistribution distribution(double[] logits, Sampling s) {
        double[] p = probabilities(logits, s);
        float[] f = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            f[i] = (float) p[i];
        }
        return s.isGreedy() ? TokenDistribution.oneHot(argmax(p)) : TokenDistribution.of(f);
    }

    static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) {
            if (p[i] > p[best]) {
                best = i;
            }
        }
        return best;
    }
}
