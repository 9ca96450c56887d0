package dev.blockdraft.train.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Exact gradient accumulation at the objective level, in float64 with the logits as leaves: one
 * batch of 8 sequences through {@link Objective#loss(DraftBatch, NDArray)} against the same blocks,
 * same order, split into micro-batches of 4+4, 2+2+2+2 and 3+5 sequences through
 * counts/statistics → advance → share. Loss, terms, every logit's gradient and the objective's
 * state must agree, over two consecutive steps (so that a reach estimate carried from step 1 is
 * used in step 2). And the old accumulation — each micro-batch's own loss, averaged, state moved
 * per micro-batch — must fail the same comparison.
 */
class PooledAccumulationTest {
    static final List<String> PRESETS = List.of("uniform", "dflash", "dpace", "dpace:norm=slots", "dpace:norm=weights",
            "positional", "positional:reach=soft", "first-error", "chain", "paper", "paper:reach=soft");
    static final List<int[]> SPLITS = List.of(new int[] {4, 4}, new int[] {2, 2, 2, 2}, new int[] {3, 5});
    static final int SEQUENCES = 8, BLOCKS_PER_SEQUENCE = 3, K = 5, V = 7;
    // float64 throughout; the pooled denominators are host double sums where the reference sums on
    // the device, and Σ over micro-batches reorders the numerators: ~1e-15 relative. 1e-9 leaves room.
    static final double TOLERANCE = 1e-9;

    /** What one step gave: loss, terms, d loss / d logits (all blocks, in order), state after. */
    record Step(double loss, Map<String, Double> terms, double[] grad, Map<String, double[]> state) {}

    /** Two batches of 8 sequences × 3 blocks; valid slots drawn per block (0 to K), labels right ~60% of the time. */
    static Fixture batch(long seed, boolean targetProbs) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] valid = new int[SEQUENCES * BLOCKS_PER_SEQUENCE];
        for (int i = 0; i < valid.length; i++) {
            valid[i] = r.nextInt(K + 1);
        }
        valid[0] = K; // slot K valid somewhere
        Fixture f = Fixture.random(seed, valid.length, K, V, valid, 0.6);
        return targetProbs ? f.withRandomProbs(seed + 100) : f;
    }

    @Test
    void everyPresetPooledOverMicroBatchesEqualsOneBatch() {
        for (boolean probs : new boolean[] {false, true}) {
            for (String spec : PRESETS) {
                for (int[] split : SPLITS) {
                    String what = spec + (probs ? " with target probs" : "") + ", split " + Arrays.toString(split);
                    Objective reference = Objectives.parse(spec);
                    Objective pooled = Objectives.parse(spec);
                    for (long seed = 1; seed <= 2; seed++) {
                        Fixture f = batch(seed, probs);
                        assertSame(whole(reference, f), pooled(pooled, f, split), what + ", step " + seed);
                    }
                }
            }
        }
    }

    /** The mutant: averaging each micro-batch's own loss (the accumulation before pooling) is caught. */
    @Test
    void averagingTheMicroBatchesLossesFailsTheSameComparison() {
        for (String spec : PRESETS) {
            for (int[] split : SPLITS) {
                boolean equalSequences = Arrays.stream(split).distinct().count() == 1;
                if (spec.equals("dpace") && equalSequences) {
                    // Z = sequences: equal sequence counts make the mean exact; asserted, not skipped
                    Fixture f = batch(1, false);
                    assertSame(whole(Objectives.parse(spec), f), averaged(Objectives.parse(spec), f, split), spec);
                    continue;
                }
                Objective reference = Objectives.parse(spec);
                Objective averaged = Objectives.parse(spec);
                double worst = 0;
                for (long seed = 1; seed <= 2; seed++) {
                    Fixture f = batch(seed, false);
                    worst = Math.max(worst, discrepancy(whole(reference, f), averaged(averaged, f, split)));
                }
                assertTrue(worst > 1e-3, spec + ", split " + Arrays.toString(split)
                        + ": averaging should differ from one batch, worst relative difference " + worst);
            }
        }
    }

    /** The totals of a concatenation are the sums of the parts' totals; keys of a sum's parts are prefixed. */
    @Test
    void totalsAddUpAndNameTheirParts() {
        Fixture f = batch(3, false);
        Objective paper = Objectives.paper();
        try (NDManager m = NDManager.newBaseManager()) {
            BatchTotals all = totals(paper, f, 0, f.n, SEQUENCES, m);
            BatchTotals parts = totals(paper, f, 0, 9, 3, m).plus(totals(paper, f, 9, f.n, 5, m));
            assertEquals(all, parts);
            assertEquals(List.of("0.slot_blocks", "2.blocks", "0.reach_sums", "1.error_blocks"), List.copyOf(all.sums().keySet()));
            int errors = 0;
            for (int i = 0; i < f.n; i++) {
                errors += f.firstError(f.logits, i) >= 0 ? 1 : 0;
            }
            assertEquals(errors, all.scalar("1.error_blocks"));
            assertEquals(Arrays.stream(f.valid).filter(v -> v > 0).count(), (long) all.scalar("2.blocks"));
        }
    }

    static Step whole(Objective o, Fixture f) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = f.logits(m, DataType.FLOAT64);
            logits.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ObjectiveValue v = o.loss(f.batch(m).withSequences(SEQUENCES), logits);
                gc.backward(v.total());
                return new Step(v.total().getDouble(), v.terms(), logits.getGradient().toDoubleArray(), o.state());
            }
        }
    }

    /** counts + statistics of every micro-batch, summed; advance once; backward of each micro-batch's share. */
    static Step pooled(Objective o, Fixture f, int[] split) {
        try (NDManager m = NDManager.newBaseManager()) {
            BatchTotals totals = BatchTotals.NONE;
            for (int[] r : ranges(split)) {
                totals = totals.plus(totals(o, f, r[0], r[1], r[2], m));
            }
            o.advance(totals);
            double loss = 0;
            Map<String, Double> terms = new LinkedHashMap<>();
            List<Double> grad = new ArrayList<>();
            for (int[] r : ranges(split)) {
                NDArray logits = part(f, r[0], r[1]).logits(m, DataType.FLOAT64);
                logits.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    DraftBatch b = part(f, r[0], r[1]).batch(m).withSequences(r[2]);
                    ObjectiveValue v = o.share(SlotStats.of(b, logits), totals);
                    gc.backward(v.total());
                    loss += v.total().getDouble();
                    v.terms().forEach((k, x) -> terms.merge(k, x, Double::sum));
                }
                for (double g : logits.getGradient().toDoubleArray()) {
                    grad.add(g);
                }
            }
            return new Step(loss, terms, grad.stream().mapToDouble(Double::doubleValue).toArray(), o.state());
        }
    }

    /** The old accumulation: each micro-batch's own loss (state moved each time), averaged, gradients too. */
    static Step averaged(Objective o, Fixture f, int[] split) {
        double loss = 0;
        Map<String, Double> terms = new LinkedHashMap<>();
        List<Double> grad = new ArrayList<>();
        for (int[] r : ranges(split)) {
            Fixture p = part(f, r[0], r[1]);
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray logits = p.logits(m, DataType.FLOAT64);
                logits.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    ObjectiveValue v = o.loss(p.batch(m).withSequences(r[2]), logits);
                    gc.backward(v.total());
                    loss += v.total().getDouble() / split.length;
                    v.terms().forEach((k, x) -> terms.merge(k, x / split.length, Double::sum));
                }
                for (double g : logits.getGradient().toDoubleArray()) {
                    grad.add(g / split.length);
                }
            }
        }
        return new Step(loss, terms, grad.stream().mapToDouble(Double::doubleValue).toArray(), o.state());
    }

    static BatchTotals totals(Objective o, Fixture f, int from, int to, int sequences, NDManager m) {
        Fixture p = part(f, from, to);
        DraftBatch b = p.batch(m).withSequences(sequences);
        BatchTotals t = o.counts(b);
        return o.needsStatistics() ? t.with(o.statistics(SlotStats.of(b, p.logits(m, DataType.FLOAT64)))) : t;
    }

    /** (first block, end block, sequences) of each micro-batch of {@code split} sequences. */
    static List<int[]> ranges(int[] split) {
        List<int[]> out = new ArrayList<>();
        int seq = 0;
        for (int s : split) {
            out.add(new int[] {seq * BLOCKS_PER_SEQUENCE, (seq + s) * BLOCKS_PER_SEQUENCE, s});
            seq += s;
        }
        assertEquals(SEQUENCES, seq, "split covers the batch");
        return out;
    }

    /** Blocks from..to-1 of f, with their logits and target distributions. */
    static Fixture part(Fixture f, int from, int to) {
        int per = f.k * f.v;
        Fixture p = new Fixture(Arrays.copyOfRange(f.labels, from, to), Arrays.copyOfRange(f.valid, from, to),
                Arrays.copyOfRange(f.logits, from * per, to * per), f.v);
        p.probs = f.probs == null ? null : Arrays.copyOfRange(f.probs, from * per, to * per);
        return p;
    }

    static void assertSame(Step want, Step got, String what) {
        double d = discrepancy(want, got);
        assertTrue(d <= TOLERANCE, what + ": relative difference " + d + " > " + TOLERANCE + "\nwant " + want.terms()
                + "\ngot  " + got.terms());
        assertEquals(want.terms().keySet(), got.terms().keySet(), what + ": terms");
    }

    /**
     * The largest relative difference between two steps: loss and each term (relative to max(1, |x|)),
     * each gradient element (relative to the largest reference gradient), each state entry.
     */
    static double discrepancy(Step want, Step got) {
        double d = Math.abs(want.loss() - got.loss()) / Math.max(1, Math.abs(want.loss()));
        for (Map.Entry<String, Double> e : want.terms().entrySet()) {
            Double g = got.terms().get(e.getKey());
            d = Math.max(d, g == null ? Double.POSITIVE_INFINITY : Math.abs(e.getValue() - g) / Math.max(1, Math.abs(e.getValue())));
        }
        assertEquals(want.grad().length, got.grad().length, "gradient sizes");
        double scale = Arrays.stream(want.grad()).map(Math::abs).max().orElse(0);
        assertTrue(scale > 1e-3, "reference gradient is ~0, the comparison would be vacuous");
        for (int i = 0; i < want.grad().length; i++) {
            d = Math.max(d, Math.abs(want.grad()[i] - got.grad()[i]) / scale);
        }
        assertEquals(want.state().keySet(), got.state().keySet(), "state keys");
        for (Map.Entry<String, double[]> e : want.state().entrySet()) {
            double[] w = e.getValue(), g = got.state().get(e.getKey());
            for (int j = 0; j < w.length; j++) {
                d = Math.max(d, Math.abs(w[j] - g[j]));
            }
        }
        return d;
    }
}
