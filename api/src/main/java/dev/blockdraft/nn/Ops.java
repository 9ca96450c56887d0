package dev.blockdraft.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;

/**
 * The transformer's building blocks as static functions over DJL arrays, shared by the target
 * model and the drafter.
 *
 * <p>Shape legend: B batch, T query tokens, S key tokens, C hidden size, H query heads, G kv heads
 * (H = G·R, R heads share one kv head), D head dim, V vocabulary.
 *
 * <p>Memory rule: DJL puts an op's result in the manager of its first operand. Every function
 * here keeps an activation (owned by the caller's per-step manager) as the first operand, so no
 * temporaries land in the long-lived parameter manager.
 */
public final class Ops {
    private Ops() {}

    /** x (…, in) · Wᵀ (+ b), W (out, in) as in HF's {@code nn.Linear}. */
    public static NDArray linear(NDArray x, NDArray weight) {
        return Linear.linear(x, weight).singletonOrThrow();
    }

    public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        return bias == null ? linear(x, weight) : Linear.linear(x, weight, bias).singletonOrThrow();
    }

    /** Token ids (B, T) → rows of table (B, T, C); differentiable w.r.t. the table. */
    public static NDArray embed(NDArray ids, NDArray table) {
        return Embedding.embedding(ids, table, SparseFormat.DENSE).singletonOrThrow();
    }

    /**
     * RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · w, HF's formula in every case, with eager
     * ops ({@link Backend#rmsNorm} chooses between this and the fused call).
     *
     * <p>fp16: mean(x²) overflows fp16 once |x| passes 256. For a frozen weight (a half-precision
     * target's features: no graph to keep) it is computed in fp32 and narrowed again. For a trained
     * weight a cast would detach, so it goes through {@code F.normalize}, whose norm accumulates in
     * fp32 and whose backward stays finite: with a constant column √(C·eps) appended,
     * ‖[x, √(C·eps)]‖ = √C · sqrt(mean(x²) + eps), so √C times the first C columns of the normalised
     * row is exactly the formula. (Tried and dropped: the formula itself in fp16, whose backward
     * overflowed at loss scales of 2¹¹ and up; F.normalize alone, whose max(‖x‖, eps) differs from
     * the formula where mean(x²) is within a few orders of eps.)
     */
    public static NDArray rmsNorm(NDArray x, NDArray weight, double eps) {
        if (x.getDataType() == DataType.FLOAT16) {
            if (!weight.hasGradient()) {
                NDArray x32 = x.toType(DataType.FLOAT32, false);
                NDArray ms = x32.square().mean(new int[] {-1}, true);
                return x32.div(ms.add(Scalars.of(ms, eps)).sqrt()).toType(DataType.FLOAT16, false).mul(weight);
            }
            Shape shape = x.getShape();
            long c = shape.get(shape.dimension() - 1);
            NDArray epsColumn = x.getManager().full(shape.slice(0, shape.dimension() - 1).add(1),
                    (float) Math.sqrt(c * eps), DataType.FLOAT16);
            NDArray unit = x.concat(epsColumn, -1).normalize(2, -1, 1e-30);
            return unit.get(new NDIndex("..., :{}", c)).mul(Scalars.of(unit, Math.sqrt(c))).mul(weight);
        }
        NDArray ms = x.square().mean(new int[] {-1}, true); // (…, 1)
        return x.div(ms.add(Scalars.of(ms, eps)).sqrt()).mul(weight);
    }

    /** SwiGLU MLP: down(silu(gate(x)) · up(x)), eager. */
    public static NDArray swiGlu(NDArray x, NDArray gate, NDArray up, NDArray down) {
        NDArray a = linear(x, gate);
        NDArray g = a.mul(Activation.sigmoid(a)); // silu
        return linear(g.mul(linear(x, up)), down);
    }

    /**
     * Rotary tables for positions 0..maxPositions-1 in HF's "rotate half" layout: cos/sin (P, D),
     * each the frequencies repeated twice, inv_freq = theta^(-2i/D).
     */
    public static NDArray[] ropeTables(NDManager manager, int maxPositions, int headDim, double theta) {
        int half = headDim / 2;
        float[] cos = new float[maxPositions * headDim];
        float[] sin = new float[maxPositions * headDim];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                // computed in double then rounded, like HF's fp32 path to within one ulp
                double invFreq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
                double angle = p * (float) invFreq;
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[p * headDim + i] = c;
                cos[p * headDim + i + half] = c;
                sin[p * headDim + i] = s;
                sin[p * headDim + i + half] = s;
            }
        }
        Shape shape = new Shape(maxPositions, headDim);
        return new NDArray[] {manager.create(cos, shape), manager.create(sin, shape)};
    }

    /**
     * Rotary factors for positions (B, T): cos and a sign-folded sin, (B, 1, T, D) each in {@code type}.
     * Every layer of a forward shares them, so the table gathers and casts run once per forward,
     * not once per layer and head group (on a GPU each op is a kernel launch).
     */
    public record Rotary(NDArray cos, NDArray signedSin) {}

    /**
     * Gathers {@link Rotary} factors from cos/sin tables (P, D). The sin half that multiplies −x₂
     * in rotate_half is negated here once, so {@link #rope} needs no per-call negation.
     */
    public static Rotary rotary(NDArray positions, NDArray cosTable, NDArray sinTable, DataType type) {
        NDArray cos = embed(positions, cosTable).expandDims(1); // (B, 1, T, D)
        NDArray sin = embed(positions, sinTable).expandDims(1);
        if (cos.getDataType() != type) {
            cos = cos.toType(type, false);
            sin = sin.toType(type, false);
        }
        long d = sin.getShape().get(3);
        NDArray signedSin = sin.get(new NDIndex("..., :{}", d / 2)).neg().concat(sin.get(new NDIndex("..., {}:", d / 2)), -1);
        return new Rotary(cos, signedSin);
    }

    /**
     * Applies rotary embeddings to x (B, H, T, D): x·cos + rotate_half(x)·sin, HF's "rotate half"
     * layout, with rotate_half(x)·sin = [x₂, x₁]·[−sin, sin] (negation is exact, so this is the
     * same arithmetic with one op fewer).
     */
    public static NDArray rope(NDArray x, Rotary rotary) {
        long d = x.getShape().get(3);
        NDArray swapped = x.get(new NDIndex("..., {}:", d / 2)).concat(x.get(new NDIndex("..., :{}", d / 2)), -1);
        return x.mul(rotary.cos()).add(swapped.mul(rotary.signedSin()));
    }

    /**
     * Scaled dot-product attention with grouped kv heads, eager (explicit score matrices; the reference
     * {@link Backend#attention}'s fused kernels are tested against), without materialising repeated keys:
     * the R query heads of a group are folded into the query length, so one batched matmul per group
     * serves them all.
     *
     * @param q (B, H, T, D)
     * @param k (B, G, S, D)
     * @param v (B, G, S, D)
     * @param additiveMask broadcastable to (B, H, T, S): 0 where allowed, -inf where not
     * @return (B, H, T, D)
     */
    public static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
        Shape qs = q.getShape();
        long b = qs.get(0), h = qs.get(1), t = qs.get(2), d = qs.get(3);
        long g = k.getShape().get(1), s = k.getShape().get(2);
        long r = h / g;
        NDArray qg = q.mul(Scalars.of(q, 1.0 / Math.sqrt(d))).reshape(b, g, r * t, d); // (B, G, R·T, D)
        NDArray scores = qg.matMul(k.transpose(0, 1, 3, 2)); // (B, G, R·T, S)
        scores = scores.reshape(b, h, t, s).add(additiveMask); // (B, H, T, S)
        NDArray probs = scores.softmax(-1);
        return probs.reshape(b, g, r * t, s).matMul(v).reshape(b, h, t, d); // (B, H, T, D)
    }

    /** Turns an allowed-pattern (true = may attend) into an additive mask of the given type. */
    public static NDArray additiveMask(NDArray allowed, DataType type) {
        NDManager m = allowed.getManager();
        NDArray zero = m.zeros(allowed.getShape(), type);
        NDArray negInf = m.full(allowed.getShape(), Float.NEGATIVE_INFINITY, type);
        return NDArrays.where(allowed, zero, negInf);
    }

    /**
     * Causal mask for T queries at absolute positions offset..offset+T-1 over S = offset+T keys.
     * Returns (1, 1, T, S) additive.
     */
    public static NDArray causalMask(NDManager manager, int offset, int t, DataType type) {
        NDArray keyPos = manager.arange(0, offset + t).reshape(1, offset + t); // (1, S)
        NDArray queryPos = manager.arange(offset, offset + t).reshape(t, 1); // (T, 1)
        NDArray allowed = keyPos.lte(queryPos); // (T, S)
        return additiveMask(allowed, type).reshape(1, 1, t, offset + t);
    }

    /** Mean cross-entropy of logits (N, V) against integer labels (N). */
    public static NDArray crossEntropy(NDArray logits, NDArray labels) {
        NDArray logProbs = logits.logSoftmax(-1); // (N, V)
        NDArray picked = logProbs.gather(labels.reshape(-1, 1), 1); // (N, 1)
        return picked.neg().mean();
    }
}
