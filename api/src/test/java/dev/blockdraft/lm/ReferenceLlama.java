package dev.blockdraft.lm;

import java.util.Map;

/**
 * A plain-Java, double-precision Llama/Qwen3 forward written straight from the HF modeling code
 * (loops, no DJL), used as an independent golden reference at tiny sizes.
 */
final class ReferenceLlama {
    private final LlamaConfig c;
    private final Map<String, float[]> w;

    ReferenceLlama(LlamaConfig c, Map<String, float[]> weights) {
        this.c = c;
        this.w = weights;
    }

    /** Logits (T, V) for one sequence. */
    double[][] logits(int[] ids) {
        int t = ids.length, cDim = c.hiddenSize();
        double[][] x = new double[t][cDim];
        float[] emb = w.get("model.embed_tokens.weight");
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < cDim; j++) {
                x[i][j] = emb[ids[i] * cDim + j];
            }
        }
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "model.layers." + l + ".";
            double[][] xn = rms(x, w.get(p + "input_layernorm.weight"));
            int h = c.numAttentionHeads(), g = c.numKeyValueHeads(), d = c.headDim();
            double[][] q = matmul(xn, w.get(p + "self_attn.q_proj.weight"), h * d, w.get(p + "self_attn.q_proj.bias"));
            double[][] k = matmul(xn, w.get(p + "self_attn.k_proj.weight"), g * d, w.get(p + "self_attn.k_proj.bias"));
            double[][] v = matmul(xn, w.get(p + "self_attn.v_proj.weight"), g * d, w.get(p + "self_attn.v_proj.bias"));
            if (c.qkNorm()) {
                headNorm(q, h, d, w.get(p + "self_attn.q_norm.weight"));
                headNorm(k, g, d, w.get(p + "self_attn.k_norm.weight"));
            }
            rope(q, h, d);
            rope(k, g, d);
            double[][] attn = new double[t][h * d];
            for (int head = 0; head < h; head++) {
                int kvHead = head / (h / g); // HF repeat_kv: consecutive query heads share a kv head
                for (int i = 0; i < t; i++) {
                    double[] scores = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double s = 0;
                        for (int e = 0; e < d; e++) {
                            s += q[i][head * d + e] * k[j][kvHead * d + e];
                        }
                        scores[j] = s / Math.sqrt(d);
                        max = Math.max(max, scores[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= i; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        z += scores[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int e = 0; e < d; e++) {
                            attn[i][head * d + e] += scores[j] / z * v[j][kvHead * d + e];
                        }
                    }
                }
            }
            add(x, matmul(attn, w.get(p + "self_attn.o_proj.weight"), cDim, null));
            double[][] xn2 = rms(x, w.get(p + "post_attention_layernorm.weight"));
            double[][] gate = matmul(xn2, w.get(p + "mlp.gate_proj.weight"), c.intermediateSize(), null);
            double[][] up = matmul(xn2, w.get(p + "mlp.up_proj.weight"), c.intermediateSize(), null);
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < gate[i].length; j++) {
                    double a = gate[i][j];
                    gate[i][j] = a / (1 + Math.exp(-a)) * up[i][j];
                }
            }
            add(x, matmul(gate, w.get(p + "mlp.down_proj.weight"), cDim, null));
        }
        double[][] xf = rms(x, w.get("model.norm.weight"));
        float[] head = c.tieWordEmbeddings() ? w.get("model.embed_tokens.weight") : w.get("lm_head.weight");
        return matmul(xf, head, c.vocabSize(), null);
    }

    private double[][] rms(double[][] x, float[] weight) {
        double[][] out = new double[x.length][x[0].length];
        for (int i = 0; i < x.length; i++) {
            double ms = 0;
            for (double v : x[i]) {
                ms += v * v;
            }
            ms /= x[i].length;
            double inv = 1 / Math.sqrt(ms + c.rmsNormEps());
            for (int j = 0; j < x[i].length; j++) {
                out[i][j] = x[i][j] * inv * weight[j];
            }
        }
        return out;
    }

    private void headNorm(double[][] x, int heads, int d, float[] weight) {
        for (double[] row : x) {
            for (int hd = 0; hd < heads; hd++) {
                double ms = 0;
                for (int e = 0; e < d; e++) {
                    ms += row[hd * d + e] * row[hd * d + e];
                }
                double inv = 1 / Math.sqrt(ms / d + c.rmsNormEps());
                for (int e = 0; e < d; e++) {
                    row[hd * d + e] *= inv * weight[e];
                }
            }
        }
    }

    private void rope(double[][] x, int heads, int d) {
        int half = d / 2;
        for (int pos = 0; pos < x.length; pos++) {
            for (int hd = 0; hd < heads; hd++) {
                for (int i = 0; i < half; i++) {
                    double angle = pos / Math.pow(c.ropeTheta(), 2.0 * i / d);
                    double a = x[pos][hd * d + i], b = x[pos][hd * d + i + half];
                    x[pos][hd * d + i] = a * Math.cos(angle) - b * Math.sin(angle);
                    x[pos][hd * d + i + half] = b * Math.cos(angle) + a * Math.sin(angle);
                }
            }
        }
    }

    /** x (T, in) · Wᵀ with W (out, in) row-major. */
    private static double[][] matmul(double[][] x, float[] weight, int out, float[] bias) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int j = 0; j < in; j++) {
                    s += x[i][j] * weight[o * in + j];
                }
                y[i][o] = s;
            }
        }
        return y;
    }

    private static void add(double[][] x, double[][] y) {
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] += y[i][j];
            }
        }
    }
}
