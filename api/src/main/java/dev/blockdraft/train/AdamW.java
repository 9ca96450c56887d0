package dev.blockdraft.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.blockdraft.nn.Backend;
import dev.blockdraft.nn.FusedOps;
import dev.blockdraft.nn.Scalars;
import dev.blockdraft.nn.StateDict;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * AdamW (Loshchilov &amp; Hutter) with decoupled weight decay on matrices only (norm weights and
 * biases are not decayed), and global-norm gradient clipping.
 *
 * <p>Written here rather than taken from DJL because DJL's optimizers keep their moment
 * estimates private, so a checkpoint could not save them and a resumed run would diverge; and
 * DJL's {@code optClipGrad} clips each value, not the global norm.
 */
public final class AdamW implements AutoCloseable {
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final NDManager manager;
    private final Backend backend;
    private final Map<String, NDArray> firstMoment = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoment = new LinkedHashMap<>();
    private int stepCount;

    /** An optimizer for parameters on {@code parent}'s device, with that device's backend ({@link Backend#forDevice}). */
    public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay) {
        this(parent, beta1, beta2, eps, weightDecay, Backend.forDevice(parent.getDevice()));
    }

    /** With {@code backend}'s fused AdamW and global-norm kernels where it fuses {@code adamw}, eager ops otherwise. */
    public AdamW(NDManager parent, double beta1, double beta2, double eps, double weightDecay, Backend backend) {
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
            throw new IllegalArgumentException("betas (" + beta1 + ", " + beta2 + ") must be within [0, 1)");
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.manager = parent.newSubManager();
        this.backend = backend;
    }

    /** The usual LLM setting: betas (0.9, 0.95), eps 1e-8, on the model's backend. */
    public static AdamW standard(NDManager parent, double weightDecay, Backend backend) {
        return new AdamW(parent, 0.9, 0.95, 1e-8, weightDecay, backend);
    }

    /** {@link #standard(NDManager, double, Backend)} with the device's backend. */
    public static AdamW standard(NDManager parent, double weightDecay) {
        return new AdamW(parent, 0.9, 0.95, 1e-8, weightDecay);
    }

    public Backend backend() {
        return backend;
    }

    public int stepCount() {
        return stepCount;
    }

    public Map<String, NDArray> firstMoments() {
        return firstMoment;
    }

    public Map<String, NDArray> secondMoments() {
        return secondMoment;
    }

    /** Restores state saved from {@link #firstMoments()}/{@link #secondMoments()} (arrays are copied). */
    public void restore(int steps, Map<String, float[]> first, Map<String, float[]> second, StateDict params) {
        this.stepCount = steps;
        for (Map.Entry<String, float[]> e : first.entrySet()) {
            NDArray p = params.get(e.getKey());
            firstMoment.put(e.getKey(), manager.create(e.getValue(), p.getShape()));
            secondMoment.put(e.getKey(), manager.create(second.get(e.getKey()), p.getShape()));
        }
    }

    /** The parameters' gradients as arrays owned by {@code scope} (the handles share the gradients' storage). */
    public static Map<String, NDArray> gradients(StateDict params, NDManager scope) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : params.asMap().entrySet()) {
            NDArray g = e.getValue().getGradient();
            g.attach(scope);
            grads.put(e.getKey(), g);
        }
        return grads;
    }

    /**
     * L2 norm of several arrays together, with one host sync; NaN or infinity if any entry is. One
     * {@code _foreach_norm} kernel where the backend fuses {@code adamw}.
     */
    public double norm(Iterable<NDArray> arrays) {
        List<NDArray> all = new ArrayList<>();
        arrays.forEach(all::add);
        var fused = all.isEmpty() ? Optional.<FusedOps>empty() : backend.kernels(Backend.Op.ADAMW);
        if (fused.isPresent()) {
            try (NDArray n = fused.get().globalNorm(all)) {
                return n.getFloat();
            }
        }
        NDArray total = null;
        for (NDArray g : all) {
            NDArray sq = g.square().sum();
            total = total == null ? sq : total.add(sq);
        }
        return total == null ? 0 : Math.sqrt(total.getFloat());
    }

    /**
     * One update from explicit gradients (fp32, same names and shapes as {@code params}; e.g. the
     * unscaled gradients of fp16 working copies), multiplied by {@code gradScale} first; PyTorch's
     * AdamW: {@code p ← p·(1 − lr·wd)}, then {@code p ← p − lr/bc1 · m / (√v/√bc2 + eps)}.
     *
     * <p>Where the backend fuses {@code adamw} (GPUs by default), PyTorch's fused AdamW kernel ({@link FusedOps},
     * the kernel behind {@code torch.optim.AdamW(fused=True)}). Elsewhere eager ops, not DJL's native {@code adamUpdate}
     * kernel: that kernel was 2–3 ms faster per step on an H200, but with it identical CPU runs ended on
     * different weights (resume tests failed in about half of their runs; the cause was not found), and
     * a resumable trainer must be reproducible.
     */
    public void step(StateDict params, Map<String, NDArray> grads, double lr, double gradScale) {
        stepCount++;
        double bc1 = 1 - Math.pow(beta1, stepCount);
        double bc2 = 1 - Math.pow(beta2, stepCount);
        var fused = params.asMap().isEmpty() ? Optional.<FusedOps>empty() : backend.kernels(Backend.Op.ADAMW);
        if (fused.isPresent()) {
            fusedStep(fused.get(), params, grads, lr, gradScale);
            return;
        }
        try (NDManager stepScope = manager.newSubManager()) {
            // The step's coefficients cross to the device in one copy; the constant ones are cached
            // (Scalars): a host scalar per op would wait for the GPU each time.
            NDArray coefficients = stepScope.create(new double[] {gradScale, 1 / Math.sqrt(bc2), lr / bc1, 1 - lr * weightDecay});
            NDArray scaleGrad = coefficients.get(0);
            NDArray unbiasSecond = coefficients.get(1);
            NDArray stepSize = coefficients.get(2);
            NDArray decay = coefficients.get(3);
            for (Map.Entry<String, NDArray> entry : params.asMap().entrySet()) {
                NDArray p = entry.getValue();
                NDArray g = grads.get(entry.getKey());
                if (g == null) {
                    throw new IllegalArgumentException("no gradient for parameter '" + entry.getKey() + "'");
                }
                NDArray m = firstMoment.computeIfAbsent(entry.getKey(), k -> manager.zeros(p.getShape(), p.getDataType()));
                NDArray v = secondMoment.computeIfAbsent(entry.getKey(), k -> manager.zeros(p.getShape(), p.getDataType()));
                try (NDManager tmp = manager.newSubManager()) {
                    NDArray gs = g.mul(scaleGrad);
                    gs.attach(tmp);
                    m.muli(Scalars.of(m, beta1)).addi(gs.mul(Scalars.of(gs, 1 - beta1)));
                    v.muli(Scalars.of(v, beta2)).addi(gs.square().mul(Scalars.of(gs, 1 - beta2)));
                    NDArray denom = v.sqrt(); // lands in the optimizer's manager: move it to tmp
                    denom.attach(tmp);
                    denom.muli(unbiasSecond).addi(Scalars.of(denom, eps));
                    NDArray update = m.div(denom);
                    update.attach(tmp);
                    update.muli(stepSize);
                    if (weightDecay > 0 && p.getShape().dimension() >= 2) {
                        p.muli(decay);
                    }
                    p.subi(update);
                }
            }
        }
    }

    /**
     * The same update with PyTorch's fused AdamW kernel (a GPU's default, see {@link Backend}): one
     * call for all tensors instead of ~10 ops each. Weight decay only on matrices, as above, so
     * two groups.
     */
    private void fusedStep(FusedOps fused, StateDict params, Map<String, NDArray> grads, double lr, double gradScale) {
        for (boolean decayed : new boolean[] {true, false}) {
            List<NDArray> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
            for (Map.Entry<String, NDArray> entry : params.asMap().entrySet()) {
                NDArray param = entry.getValue();
                if ((param.getShape().dimension() >= 2) != decayed) {
                    continue;
                }
                NDArray grad = grads.get(entry.getKey());
                if (grad == null) {
                    throw new IllegalArgumentException("no gradient for parameter '" + entry.getKey() + "'");
                }
                p.add(param);
                g.add(grad);
                m.add(firstMoment.computeIfAbsent(entry.getKey(), k -> manager.zeros(param.getShape(), param.getDataType())));
                v.add(secondMoment.computeIfAbsent(entry.getKey(), k -> manager.zeros(param.getShape(), param.getDataType())));
            }
            fused.adamW(p, g, m, v, lr, beta1, beta2, decayed ? weightDecay : 0, eps, stepCount, 1 / gradScale);
        }
    }

    /** Sets every gradient to zero (PyTorch accumulates gradients across backward passes). */
    public static void zeroGradients(StateDict params) {
        try (NDManager tmp = params.manager().newSubManager()) {
            for (NDArray p : params.asMap().values()) {
                NDArray g = p.getGradient();
                g.attach(tmp);
                g.muli(Scalars.of(g, 0));
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
